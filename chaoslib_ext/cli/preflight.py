"""The preflight ``chaosllm run`` runs before it starts anything: ``chaosllm check`` of the experiment's
target, with the experiment's own load (its url, model and headers, secrets resolved as Chaos Toolkit
resolves them) and the Chaos Mesh objects its faults would create."""

from __future__ import annotations

import sys
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.experiment.faultplan import planned_faults
from chaoslib_ext.experiment.loader import Source
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.experiment.validate import ACTIVITY_MODULES
from chaoslib_ext.experiment.variables import configuration_values
from chaoslib_ext.faults.chaosmesh.objects import API_VERSION
from chaoslib_ext.preflight import Check, check_target, render
from chaoslib_ext.run.context import TARGET_KEY
from chaoslib_ext.target import SANDBOX, Target, load_target

__all__ = ["preflight"]


def preflight(source: Source, config_vars: dict[str, Any], var_secrets: dict[str, Any]) -> list[Check] | None:
    """Print the checks of the experiment's target and return them; None (after printing why) when they
    could not run (a secret that cannot be resolved, a target that cannot be read)."""
    variables = configuration_values(source.data, config_vars)
    ref = str(variables.get(TARGET_KEY) or SANDBOX)
    try:
        resolved = _secrets(source.data, variables, var_secrets)
        secrets.register_named(resolved)
        plan = Plan.from_experiment(source.data, {**variables, **_flat(resolved)})
        target = _target(ref, source, variables, plan)
    except (ChaosLLMError, SpecError) as exc:
        print(f"chaosllm run: preflight: {exc}", file=sys.stderr)
        return None
    load = plan.load
    if target is None:  # the experiment names its own endpoint and faults nothing: check that endpoint
        checks = [] if load is None else check_target(Target("(the load's url)", {}), load)
        return _report(checks, "the experiment's own endpoint")
    if load is not None and not load.url:
        load = load.with_target(target.services.get("gateway"))
    planned = list(planned_faults(source.data, variables, target, ACTIVITY_MODULES))
    objects = [
        (obj["kind"], obj["metadata"]["namespace"])
        for fault in planned
        for obj in fault.objects
        if obj.get("apiVersion") == API_VERSION
    ]
    checks = check_target(target, load if load is not None and load.url else None, objects)
    where = f"{len(objects)} Chaos Mesh object(s), inside the allowed namespaces and blast radius" if objects else ""
    detail = f"{len(planned)} fault(s) planned on the target" + (f"; {where}" if where else "")
    return _report([*checks, Check("faults planned", repr(target.name), True, detail)], repr(target.name))


def _target(ref: str, source: Source, variables: dict[str, Any], plan: Plan) -> Target | None:
    """The target, or None when it cannot be read and the experiment does not need it (its load names
    its own url and it has no fault); raises TargetError when it is needed and cannot be read."""
    try:
        return load_target(ref)
    except ChaosLLMError:
        uses_target = (plan.load is not None and not plan.load.url) or any(
            planned_faults(source.data, variables, None, ACTIVITY_MODULES)
        )
        if uses_target:
            raise
        return None


def _report(checks: list[Check], what: str) -> list[Check]:
    if checks:
        print(f"Preflight of {what}:\n{secrets.scrub(render(checks))}\n", file=sys.stderr)
    return checks


def _secrets(experiment: dict[str, Any], variables: dict[str, Any], var_secrets: dict[str, Any]) -> dict[str, Any]:
    """The experiment's secrets as Chaos Toolkit will resolve them (env, inline), with --var-file's."""
    from chaoslib.secret import load_secrets

    try:
        found: dict[str, Any] = load_secrets(experiment.get("secrets") or {}, variables, var_secrets)
    except Exception as exc:  # chaoslib raises its own errors for a missing env variable, among others
        raise ChaosLLMError(f"the experiment's secrets cannot be resolved: {exc}") from exc
    return found


def _flat(scoped: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for values in scoped.values():
        if isinstance(values, dict):
            out.update(values)
    return out
