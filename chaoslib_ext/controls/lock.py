"""The abort lock: a kill switch that stops what runs and refuses what would start.

``chaosllm lock --reason R`` takes it (who from ``--who``, else the user), and aborts every run of this
machine; while it is held every new ``run``, ``bench`` and ``gameday`` is refused with exit 3 and the
reason, and a run that is running when it is taken aborts within a few seconds (its control endpoint
watches it). ``chaosllm unlock`` releases it.

It lives in the state directory (``$CHAOSLLM_STATE_DIR/abort-lock.json``), and for a cluster target
also as a Lease ``chaosllm-abort-lock`` in the target's chaos namespace (``--target T``), which every
run on that target reads, the in-cluster controller's included: a lock taken from a laptop stops a
CI runner on another machine. The Lease's holderIdentity is who took it; its annotations say why and
when.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from urllib3.exceptions import HTTPError

from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.kube import api_client
from chaoslib_ext.faults.chaosmesh.objects import LOCK_LEASE, MANAGED_BY
from chaoslib_ext.target import ChaosMeshSettings, Target, state_dir

__all__ = ["LEASE", "AbortLock", "held", "lock_file", "release", "take"]

LEASE = LOCK_LEASE
_REASON, _AT = "chaosllm.io/reason", "chaosllm.io/locked-at"


@dataclass(frozen=True)
class AbortLock:
    reason: str
    who: str
    at: float
    where: str  # this machine's state directory, or the Lease's namespace/name

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.at))
        return f"the abort lock is held by {self.who} since {when} ({self.where}): {self.reason}"


def lock_file() -> Path:
    return state_dir() / "abort-lock.json"


def default_who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def held(target: Target | None = None) -> AbortLock | None:
    """The lock, if held: this machine's, else the cluster's (a target with Chaos Mesh). Raises
    TargetError when the cluster cannot say (a run must not start on a lock it could not read)."""
    path = lock_file()
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
            return AbortLock(str(raw["reason"]), str(raw["who"]), float(raw["at"]), str(path))
        except (OSError, ValueError, KeyError, TypeError):
            return AbortLock("(an unreadable lock file)", "?", path.stat().st_mtime, str(path))
    if target is not None and target.chaos_mesh is not None:
        return _lease(target.chaos_mesh)
    return None


def take(reason: str, who: str, target: Target | None = None) -> list[str]:
    """Hold the lock here (and on the target's cluster); where it is now held."""
    at = time.time()
    where = [str(lock_file())]
    write_json_atomic(lock_file(), asdict(AbortLock(reason, who, at, str(lock_file()))))
    if target is not None and target.chaos_mesh is not None:
        cm = target.chaos_mesh
        meta = {"name": LEASE, "namespace": cm.namespace, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
                "annotations": {_REASON: reason, _AT: f"{at:.3f}"}}  # fmt: skip
        acquired = datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds")
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": who, "acquireTime": acquired}}  # fmt: skip
        leases = _leases(cm)
        what = f"create Lease {cm.namespace}/{LEASE}"
        _call(what, lambda: leases.create_namespaced_lease(cm.namespace, body, _request_timeout=10))
        where.append(f"Lease {cm.namespace}/{LEASE}")
    return where


def release(target: Target | None = None) -> list[str]:
    """Release the lock here (and on the target's cluster); where it was held."""
    where = []
    if lock_file().exists():
        lock_file().unlink()
        where.append(str(lock_file()))
    if target is not None and target.chaos_mesh is not None:
        cm = target.chaos_mesh
        leases = _leases(cm)
        what = f"delete Lease {cm.namespace}/{LEASE}"
        if _call(what, lambda: leases.delete_namespaced_lease(LEASE, cm.namespace, _request_timeout=10), True):
            where.append(f"Lease {cm.namespace}/{LEASE}")
    return where


def _leases(cm: ChaosMeshSettings) -> Any:
    return k8s.CoordinationV1Api(api_client(cm.kubeconfig, cm.context))


def _lease(cm: ChaosMeshSettings) -> AbortLock | None:
    leases = _leases(cm)
    what = f"read Lease {cm.namespace}/{LEASE}"
    found = _call(what, lambda: leases.read_namespaced_lease(LEASE, cm.namespace, _request_timeout=10), True)
    if found is None:
        return None
    notes = found.metadata.annotations or {}
    try:
        at = float(notes.get(_AT, "0"))
    except ValueError:
        at = 0.0
    who = found.spec.holder_identity if found.spec is not None else None
    return AbortLock(notes.get(_REASON, "(no reason given)"), who or "?", at, f"Lease {cm.namespace}/{LEASE}")


def _call(what: str, fn: Callable[[], Any], missing_ok: bool = False) -> Any:
    try:
        return fn()
    except k8s.ApiException as exc:
        if missing_ok and exc.status == 404:
            return None
        if exc.status == 409:
            raise TargetError(f"Kubernetes refused to {what}: the lock is held there already") from exc
        raise TargetError(f"Kubernetes refused to {what}: {exc.status} {exc.reason}") from exc
    except (HTTPError, OSError) as exc:
        raise TargetError(f"Kubernetes API unreachable ({what}): {exc}") from exc
