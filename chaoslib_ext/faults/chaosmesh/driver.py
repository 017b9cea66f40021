"""The Chaos Mesh driver: create the fault's objects, wait until every record is injected, and delete
them (waiting until they are gone) from the undo record alone."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.kube import KubeObjects, wait_until
from chaoslib_ext.faults.chaosmesh.objects import check_blast_radius, check_namespaces, describe_status, injected
from chaoslib_ext.faults.driver import Injected
from chaoslib_ext.target import ChaosMeshSettings

__all__ = ["ChaosMeshDriver"]


class ChaosMeshDriver:
    name: ClassVar[str] = "chaos-mesh"
    expires_by_itself = True  # every object has a duration

    def __init__(self, settings: ChaosMeshSettings, manifests: list[dict[str, Any]], description: str) -> None:
        for manifest in manifests:
            check_namespaces(manifest, settings.allowed_namespaces)
            check_blast_radius(manifest, settings.blast_radius)
        self._settings = settings
        self._manifests = manifests
        self._description = description

    def target(self) -> str:
        names = ", ".join(f"{m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']}" for m in self._manifests)
        return f"{self._description} ({names})"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return self._manifests

    def undo(self, fault_id: str) -> dict[str, Any]:
        s = self._settings
        return {
            "kubeconfig": s.kubeconfig,
            "context": s.context,
            "timeout_s": s.inject_timeout_s,
            "objects": [
                {"kind": m["kind"], "namespace": m["metadata"]["namespace"], "name": m["metadata"]["name"]}
                for m in self._manifests
            ],
        }

    def inject(self, fault_id: str) -> Injected:
        """Create every object and wait until Chaos Mesh reports them injected; raises TargetError
        quoting their status when it does not within the target's inject_timeout."""
        kube = KubeObjects(self._settings.kubeconfig, self._settings.context)
        start = time.monotonic()
        for manifest in self._manifests:
            kube.create(manifest)
        keys = [(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in self._manifests]
        current: dict[tuple[str, str, str], Any] = {}

        def all_injected() -> bool:
            for key in keys:
                current[key] = kube.get(*key)
            return all(injected(obj) for obj in current.values())

        if not wait_until(all_injected, self._settings.inject_timeout_s):
            status = "; ".join(f"{k[0]} {k[1]}/{k[2]}: {describe_status(current.get(k))}" for k in keys)
            raise TargetError(f"not injected after {self._settings.inject_timeout_s:g}s: {status}")
        details = {
            "time_to_inject_s": round(time.monotonic() - start, 3),
            "objects": [f"{k[0]} {k[1]}/{k[2]}" for k in keys],
        }
        return Injected(time.time(), details)

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Delete the recorded objects and wait until Kubernetes no longer has them; True if any existed."""
        kube = KubeObjects(undo.get("kubeconfig"), undo.get("context"))
        objects = [(o["kind"], o["namespace"], o["name"]) for o in undo["objects"]]
        existed = [kube.delete(*key) for key in objects]
        timeout = float(undo.get("timeout_s", 60.0))
        if not wait_until(lambda: all(kube.get(*key) is None for key in objects), timeout):
            left = ", ".join(f"{k[0]} {k[1]}/{k[2]}" for k in objects if kube.get(*k) is not None)
            raise TargetError(f"still present {timeout:g}s after deletion: {left}")
        return any(existed)
