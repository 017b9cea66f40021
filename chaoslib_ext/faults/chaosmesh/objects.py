"""Chaos Mesh objects as data: names, labels, durations, the namespace allowlist, and their status."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from chaoslib_ext.durations import format_duration
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.target import BlastRadius

__all__ = [
    "API_VERSION",
    "GROUP",
    "LOCK_GROUP",
    "LOCK_LEASE",
    "LOCK_RESOURCE",
    "MANAGED_BY",
    "PLURALS",
    "VERSION",
    "chaos_duration",
    "check_blast_radius",
    "check_namespaces",
    "describe_status",
    "injected",
    "label_value",
    "labels",
    "object_name",
]

GROUP = "chaos-mesh.org"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURALS = {"NetworkChaos": "networkchaos", "PodChaos": "podchaos", "HTTPChaos": "httpchaos"}
MANAGED_BY = "chaoslib-ext"
#: the abort lock on a cluster: a Lease of this name in the chaos namespace (chaoslib_ext.controls.lock)
LOCK_GROUP, LOCK_RESOURCE, LOCK_LEASE = "coordination.k8s.io", "leases", "chaosllm-abort-lock"
#: Chaos Mesh removes a fault by itself this long after the run should have: the dead-man switch.
DURATION_GRACE_S = 30.0


def _dns_label(text: str, limit: int) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "x"


def object_name(fault_id: str, run_id: str, part: str | None = None) -> str:
    """A DNS-1123 name unique to this run and fault: ``<fault>-<8 hex of the run id>[-<part>]``."""
    run_hash = hashlib.sha1(run_id.encode()).hexdigest()[:8]
    tail = f"-{run_hash}" + (f"-{_dns_label(part, 20)}" if part else "")
    return _dns_label(fault_id, 63 - len(tail)) + tail


def label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63]
    return value.strip("-_.") or "x"


def labels(run_id: str, fault_id: str) -> dict[str, str]:
    """Every object is labelled with the run and fault it belongs to, so a cleanup can find it."""
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "chaosllm.io/run": label_value(run_id),
        "chaosllm.io/fault": label_value(fault_id),
    }


def chaos_duration(duration_s: float | None) -> str:
    """Always a duration: the fault's own plus a grace, or a bound for faults removed by hand."""
    return format_duration(ttl_s(duration_s, DURATION_GRACE_S))


def _selector_namespaces(selector: Mapping[str, Any] | None, default: str) -> list[str]:
    if not selector:
        return []
    names = list(selector.get("namespaces") or []) + list((selector.get("pods") or {}).keys())
    return names or [default]  # Chaos Mesh defaults a selector to the object's namespace


def check_namespaces(manifest: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raise TargetError unless the object and every pod it selects are in an allowed namespace."""
    allowed = set(allowed)
    namespace = manifest["metadata"]["namespace"]
    spec = manifest["spec"]
    peer = spec.get("target")  # a NetworkChaos's peer pods (an HTTPChaos's target is Request or Response)
    touched = [
        namespace,
        *_selector_namespaces(spec.get("selector"), namespace),
        *_selector_namespaces(peer.get("selector") if isinstance(peer, Mapping) else None, namespace),
    ]
    outside = sorted({n for n in touched if n not in allowed})
    if outside:
        raise TargetError(
            f"{manifest['kind']} {manifest['metadata']['name']} would touch namespace "
            f"{', '.join(repr(n) for n in outside)} outside chaos_mesh.allowed_namespaces "
            f"(accepted: {', '.join(sorted(allowed))})"
        )


def check_blast_radius(manifest: Mapping[str, Any], limits: BlastRadius) -> None:
    """Raise TargetError when the object (or its network target) may select more pods than allowed."""
    spec = manifest["spec"]
    what = f"{manifest['kind']} {manifest['metadata']['name']}"
    for where, part in (("spec", spec), ("spec.target", spec.get("target"))):
        if not isinstance(part, Mapping) or "mode" not in part:
            continue
        mode, value = part["mode"], str(part.get("value") or 0)
        if mode == "all" and not limits.allow_mode_all:
            raise TargetError(
                f"{what}: {where}.mode all selects every matching pod, which this target does not allow "
                "(accepted: one, fixed, fixed-percent, random-max-percent; or set "
                "chaos_mesh.blast_radius.allow_mode_all: true in the target)"
            )
        if mode in ("fixed-percent", "random-max-percent") and float(value) > limits.max_percent:
            raise TargetError(
                f"{what}: {where}.value {value}% is above chaos_mesh.blast_radius.max_percent "
                f"(accepted: up to {limits.max_percent:g}%)"
            )
        if mode == "fixed" and limits.max_pods is not None and int(value) > limits.max_pods:
            raise TargetError(
                f"{what}: {where}.value {value} pods is above chaos_mesh.blast_radius.max_pods "
                f"(accepted: up to {limits.max_pods})"
            )


def injected(obj: Mapping[str, Any] | None) -> bool:
    """True once Chaos Mesh reports every selected container injected."""
    status = (obj or {}).get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "AllInjected" and condition.get("status") == "True":
            return True
    records = (status.get("experiment") or {}).get("containerRecords") or []
    return bool(records) and all(r.get("phase") == "Injected" for r in records)


def describe_status(obj: Mapping[str, Any] | None) -> str:
    """The status as an operator would want it quoted: conditions and each record's phase."""
    status = (obj or {}).get("status") or {}
    conditions = ", ".join(
        f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "")
        for c in status.get("conditions") or []
    )
    records = ", ".join(
        f"{r.get('id')}: {r.get('phase')}" for r in (status.get("experiment") or {}).get("containerRecords") or []
    )
    return f"conditions [{conditions or 'none'}]; records [{records or 'none'}]"
