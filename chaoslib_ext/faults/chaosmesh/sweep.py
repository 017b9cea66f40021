"""Chaos Mesh objects found by label, not by ledger: every object of ours carries
``app.kubernetes.io/managed-by: chaoslib-ext`` and its run's and fault's ids, so a cleanup can find
what a run created even when its ledger does not say so (a crash between create and record, a
ledger lost with its machine), in every namespace the target allows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.kube import KubeObjects, wait_until
from chaoslib_ext.faults.chaosmesh.objects import MANAGED_BY, PLURALS, label_value
from chaoslib_ext.target import ChaosMeshSettings

__all__ = ["run_selector", "sweep_labelled"]

RUN_LABEL = "chaosllm.io/run"


def _gone(kube: KubeObjects, kind: str, namespace: str, name: str) -> bool:
    return kube.get(kind, namespace, name) is None


def run_selector(run_id: str | None = None) -> str:
    """The label selector of one run's objects, or of every object of ours."""
    base = f"app.kubernetes.io/managed-by={MANAGED_BY}"
    return base if run_id is None else f"{base},{RUN_LABEL}={label_value(run_id)}"


def sweep_labelled(
    settings: ChaosMeshSettings, selector: str, spare: Callable[[dict[str, Any]], bool] = lambda _: False
) -> tuple[list[str], list[str]]:
    """Delete every object ``selector`` finds in the allowed namespaces (but those ``spare`` keeps) and
    wait until they are gone; returns (what was deleted, what could not be)."""
    kube = KubeObjects(settings.kubeconfig, settings.context)
    deleted, failed = [], []
    for namespace in settings.allowed_namespaces:
        for kind in PLURALS:
            try:
                found = kube.list(kind, namespace, selector)
            except TargetError as exc:
                failed.append(f"{kind} in {namespace}: {exc}")
                continue
            for obj in found:
                name = obj["metadata"]["name"]
                if spare(obj):
                    continue
                try:
                    kube.delete(kind, namespace, name)
                except TargetError as exc:
                    failed.append(f"{kind} {namespace}/{name}: {exc}")
                    continue
                if wait_until(functools.partial(_gone, kube, kind, namespace, name), settings.inject_timeout_s):
                    deleted.append(f"{kind} {namespace}/{name}")
                else:
                    failed.append(f"{kind} {namespace}/{name}: still present after deletion")
    return deleted, failed
