"""``chaosllm run --dry-run``: every object each fault would create or change, built by the very drivers
the run would use; nothing is touched. Kubernetes objects are printed as plain manifests, each checked
against Chaos Mesh's CRDs first (exit 2 naming the field the API server would refuse)."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.experiment.faultplan import crd_problems, planned_faults
from chaoslib_ext.experiment.loader import Source
from chaoslib_ext.experiment.validate import ACTIVITY_MODULES
from chaoslib_ext.experiment.variables import configuration_values
from chaoslib_ext.run.context import TARGET_KEY
from chaoslib_ext.target import SANDBOX, Target, load_target
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["dry_run"]


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
    for planned in planned_faults(source.data, variables, target, ACTIVITY_MODULES):
        name = planned.activity.get("name")
        problems = [planned.error] if planned.error else crd_problems(planned.objects)
        if problems:
            for problem in problems:
                print(f"chaosllm run --dry-run: activity {name!r}: {problem}", file=sys.stderr)
            return EXIT_INVALID
        objects = planned.objects if target is not None else [{"fault": dict(planned.arguments)}]
        out += [_document(name, obj) for obj in objects]
    print("".join(out) if out else "# no fault to inject", end="" if out else "\n")
    return EXIT_OK


def _document(activity: object, obj: dict[str, Any]) -> str:
    return f"---\n# activity: {activity}\n" + yaml.safe_dump(obj, sort_keys=False)
