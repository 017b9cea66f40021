"""Chaos Mesh objects through the official Kubernetes client; every call has a deadline."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from urllib3.exceptions import HTTPError

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.objects import GROUP, PLURALS, VERSION

__all__ = ["KubeObjects", "api_client", "wait_until"]


def api_client(kubeconfig: str | None, context: str | None) -> k8s.ApiClient:
    """A client from the target's kubeconfig, else as chaostoolkit-kubernetes configures one
    (KUBECONFIG, KUBERNETES_CONTEXT, in-cluster)."""
    if kubeconfig:
        loaded = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=os.path.expanduser(kubeconfig), context=context
        )
    else:
        from chaosk8s import create_k8s_api_client

        loaded = create_k8s_api_client({"KUBERNETES_CONTEXT": context} if context else None)
    return cast(k8s.ApiClient, loaded)


class KubeObjects:
    """Create, read, list and delete Chaos Mesh objects; API failures raise TargetError with the reason."""

    def __init__(self, kubeconfig: str | None, context: str | None, timeout_s: float = 10.0) -> None:
        self._api = k8s.CustomObjectsApi(api_client(kubeconfig, context))
        self._timeout_s = timeout_s

    def _call(self, what: str, fn: Callable[[], object], missing_ok: bool = False) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], fn())  # the client declares custom objects as ``object``
        except k8s.ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise TargetError(f"Kubernetes refused to {what}: {_reason(exc)}") from exc
        except (HTTPError, OSError) as exc:
            raise TargetError(f"Kubernetes API unreachable ({what}): {exc}") from exc

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        created = self._call(
            f"create {manifest['kind']} {meta['namespace']}/{meta['name']}",
            lambda: self._api.create_namespaced_custom_object(
                GROUP,
                VERSION,
                meta["namespace"],
                PLURALS[manifest["kind"]],
                dict(manifest),
                _request_timeout=self._timeout_s,
            ),
        )
        return created or {}

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        return self._call(
            f"read {kind} {namespace}/{name}",
            lambda: self._api.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURALS[kind], name, _request_timeout=self._timeout_s
            ),
            missing_ok=True,
        )

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete; False when it did not exist."""
        deleted = self._call(
            f"delete {kind} {namespace}/{name}",
            lambda: self._api.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURALS[kind], name, _request_timeout=self._timeout_s
            ),
            missing_ok=True,
        )
        return deleted is not None

    def list(self, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        found = self._call(
            f"list {kind} in {namespace}",
            lambda: self._api.list_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURALS[kind],
                label_selector=label_selector,
                _request_timeout=self._timeout_s,
            ),
        )
        items: list[dict[str, Any]] = (found or {}).get("items", [])
        return items


def _reason(exc: Any) -> str:
    try:
        body = json.loads(exc.body)
        return f"{body.get('reason', exc.reason)}: {body.get('message', '')}".strip(": ")
    except (TypeError, ValueError):
        return f"{exc.status} {exc.reason}"


def wait_until(check: Callable[[], bool], timeout_s: float, poll_s: float = 0.25) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
