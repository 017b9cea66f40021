"""``chaosllm run --dry-run``: every object each fault would create or change, built by the very drivers
the run would use; nothing is touched. Kubernetes objects are printed as plain manifests."""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.experiment.loader import Source
from chaoslib_ext.experiment.validate import ACTIVITY_MODULES
from chaoslib_ext.experiment.variables import configuration_values, substitute
from chaoslib_ext.faults.driver import PlanContext
from chaoslib_ext.outcome import EXIT_INVALID, EXIT_OK
from chaoslib_ext.runcontext import TARGET_KEY
from chaoslib_ext.target import SANDBOX, Target, load_target

__all__ = ["dry_run"]

_DRY_RUN_ID = "dry-run"


def dry_run(source: Source, config_vars: dict[str, Any]) -> int:
    variables = configuration_values(source.data, config_vars)
    target_ref = str(variables.get(TARGET_KEY) or SANDBOX)
    target: Target | None
    try:
        target = load_target(target_ref)
    except ChaosLLMError as exc:
        print(f"# target {target_ref!r} not resolved ({exc}): showing the faults as written", file=sys.stderr)
        target = None
    out: list[str] = []
    for block in ("method", "rollbacks"):
        for activity in source.data.get(block) or []:
            provider = activity.get("provider") or {}
            if provider.get("module") not in ACTIVITY_MODULES:
                continue
            planner = getattr(importlib.import_module(provider["module"]), "PLANNERS", {}).get(provider.get("func"))
            if planner is None:
                continue
            arguments = substitute(provider.get("arguments") or {}, variables)
            if target is None:
                out.append(_document(activity, {"fault": arguments}))
                continue
            try:
                fault_id, driver = planner(arguments, target, PlanContext(_DRY_RUN_ID, Path(tempfile.gettempdir())))
            except ChaosLLMError as exc:
                print(f"chaosllm run --dry-run: activity {activity.get('name')!r}: {exc}", file=sys.stderr)
                return EXIT_INVALID
            out += [_document(activity, obj) for obj in driver.plan(fault_id)]
    print("".join(out) if out else "# no fault to inject", end="" if out else "\n")
    return EXIT_OK


def _document(activity: dict[str, Any], obj: dict[str, Any]) -> str:
    return f"---\n# activity: {activity.get('name')}\n" + yaml.safe_dump(obj, sort_keys=False)
