"""The objects every fault activity of an experiment would create, built by the very drivers a run
uses, without touching anything: ``chaosllm run --dry-run`` prints them and ``chaosllm validate`` checks
them (Chaos Mesh objects against the shipped CRDs, offline)."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.experiment.loader import Path_
from chaoslib_ext.experiment.variables import substitute
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION
from chaoslib_ext.faults.chaosmesh.schemas import schema_errors
from chaoslib_ext.faults.driver import PlanContext
from chaoslib_ext.target import Target

__all__ = ["DRY_RUN_ID", "ActivityPlan", "crd_problems", "planned_faults"]

DRY_RUN_ID = "dry-run"


@dataclass(frozen=True)
class ActivityPlan:
    path: Path_  # where the activity is in the experiment
    activity: Mapping[str, Any]
    objects: list[dict[str, Any]]  # empty when there is no target to plan on, or on an error
    arguments: Mapping[str, Any]
    error: str | None = None  # why the target cannot apply the fault as written


def planned_faults(
    experiment: Mapping[str, Any],
    variables: Mapping[str, Any],
    target: Target | None,
    activity_modules: tuple[str, ...],
) -> Iterator[ActivityPlan]:
    """Each fault activity of the method and rollbacks with what its driver would create on ``target``
    (with ``error`` set when the target cannot apply it as written)."""
    for block in ("method", "rollbacks"):
        for index, activity in enumerate(experiment.get(block) or []):
            provider = activity.get("provider") if isinstance(activity, Mapping) else None
            if not isinstance(provider, Mapping) or provider.get("module") not in activity_modules:
                continue
            module = importlib.import_module(str(provider["module"]))
            planner = getattr(module, "PLANNERS", {}).get(provider.get("func"))
            if planner is None:
                continue
            arguments = substitute(provider.get("arguments") or {}, variables)
            if target is None:
                yield ActivityPlan((block, index), activity, [], arguments)
                continue
            try:
                planned = planner(arguments, target, PlanContext(DRY_RUN_ID, Path(tempfile.gettempdir())))
            except ChaosLLMError as exc:
                yield ActivityPlan((block, index), activity, [], arguments, str(exc))
                continue
            yield ActivityPlan((block, index), activity, planned.driver.plan(planned.fault_id), arguments)


def crd_problems(objects: list[dict[str, Any]]) -> list[str]:
    """What the API server would refuse in the Chaos Mesh objects among ``objects`` (CRD schemas)."""
    return [
        f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: {error}"
        for obj in objects
        if obj.get("apiVersion") == API_VERSION
        for error in schema_errors(obj)
    ]
