"""Everything that can be checked before a run touches anything: ``chaosllm validate`` and ``run``.

Checks, each error located at ``file:line:col``:
- our blocks: the chaosllm extension (load, hypotheses, safeguards) against its JSON schema, then
  its meaning with the typed parsers; and ``configuration.chaosllm_target``;
- every activity of ours (``module: chaoslib_ext...``): the module and function exist, and the
  arguments parse with the very parser the activity uses (after ``${var}`` substitution);
- the chaosllm control is declared wherever our activities or extension are used;
- every fault planned on the target when it can be read (the drivers' own checks: links, blast radius,
  what a backend cannot express), and every Chaos Mesh object checked against the shipped CRDs;
- Chaos Toolkit's own validation.
"""

from __future__ import annotations

import copy
import importlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException

from chaoslib_ext.exceptions import ChaosLLMError, Problem, SpecError
from chaoslib_ext.experiment.faultplan import crd_problems, planned_faults
from chaoslib_ext.experiment.loader import Path_, Source, format_path, parse_path
from chaoslib_ext.experiment.plan import EXTENSION_NAME, Plan
from chaoslib_ext.experiment.schema import extension_problems, structure_problems
from chaoslib_ext.experiment.variables import anchored_target, configuration_values, substitute
from chaoslib_ext.run.context import CONTROL_HINT, TARGET_KEY
from chaoslib_ext.target import SANDBOX, load_target

__all__ = ["ACTIVITY_MODULES", "CONTROL_MODULE", "SettingsCheck", "validate"]

SettingsCheck = Callable[[Mapping[str, Any]], list[SpecError]]
CONTROL_MODULE = "chaoslib_ext.controls.run"
ACTIVITY_MODULES = (
    "chaoslib_ext.faults.actions",
    "chaoslib_ext.faults.kafka.actions",
    "chaoslib_ext.faults.kafka.probes",
    "chaoslib_ext.faults.network.actions",
    "chaoslib_ext.faults.pod.actions",
    "chaoslib_ext.faults.redis.actions",
    "chaoslib_ext.faults.redis.probes",
    "chaoslib_ext.faults.stream.actions",
    "chaoslib_ext.load.actions",
    "chaoslib_ext.load.probes",
)


def validate(
    source: Source, config_vars: Mapping[str, Any] | None = None, settings: SettingsCheck | None = None
) -> list[Problem]:
    """Every problem found; an empty list means the experiment can run as written. ``settings`` checks the
    configuration keys of the layers above (the run session's: controls.settings), each reported at its line."""
    exp = source.data
    problems = structure_problems(source)
    if problems:
        return problems  # what follows reads the structure
    variables = configuration_values(exp, anchored_target(source.file, exp, config_vars or {}))
    problems += _check_target(source, variables)
    if settings is not None:
        problems += _settings_problems(source, variables, settings)
    schema_problems = _schema_problems(source, variables)
    problems += schema_problems
    plan = None
    try:
        plan = Plan.from_experiment(exp, variables)
    except SpecError as exc:
        if not schema_problems:  # the schema's errors already say it, each at its place
            problems.append(_spec_problem(source, (), exc))
    ours = False
    for path, activity in _activities(exp):
        found, activity_problems = _check_activity(source, path, activity, variables)
        ours = ours or found
        problems += activity_problems
    if (ours or (plan is not None and plan.load is not None)) and not _has_control(exp):
        problems.append(source.problem(("controls",), f"controls: the chaosllm control is missing: {CONTROL_HINT}"))
    if not problems:
        problems += _fault_plan_problems(source, variables)
    if not problems:
        problems += _chaostoolkit_problems(source)
    return problems


def _fault_plan_problems(source: Source, variables: Mapping[str, Any]) -> list[Problem]:
    """What the target cannot apply as written, and Chaos Mesh objects its CRDs refuse (offline).
    Skipped when the target cannot be read here (the sandbox is not up): ``run`` plans again."""
    try:
        target = load_target(str(variables.get(TARGET_KEY) or SANDBOX))
    except ChaosLLMError:
        return []
    problems = []
    for planned in planned_faults(source.data, variables, target, ACTIVITY_MODULES):
        where = (*planned.path, "provider", "arguments")
        for message in [planned.error] if planned.error else crd_problems(planned.objects):
            problems.append(source.problem(where, f"{_where(where)}on target {target.name!r}: {message}"))
    return problems


def _schema_problems(source: Source, variables: Mapping[str, Any]) -> list[Problem]:
    extensions = source.data.get("extensions")
    if not isinstance(extensions, list):
        return []
    return [
        problem
        for i, ext in enumerate(extensions)
        if isinstance(ext, Mapping) and ext.get("name") == EXTENSION_NAME
        for problem in extension_problems(source, i, substitute(ext, variables))
    ]


def _check_target(source: Source, variables: Mapping[str, Any]) -> list[Problem]:
    target = variables.get(TARGET_KEY)
    if target is not None and not isinstance(target, str):
        return [
            source.problem(
                ("configuration", TARGET_KEY),
                f"configuration.{TARGET_KEY}: expected 'sandbox' or the path of a target file",
            )
        ]
    if target not in (None, SANDBOX) and "${" not in target and not Path(target).is_file():
        return [
            source.problem(
                ("configuration", TARGET_KEY),
                f"configuration.{TARGET_KEY}: target file {target} does not exist "
                "(a path in the experiment is relative to its directory; accepted: 'sandbox' or a target file)",
            )
        ]
    return []


def _settings_problems(source: Source, variables: Mapping[str, Any], settings: SettingsCheck) -> list[Problem]:
    """What ``settings`` finds in the configuration; a value still holding an unset ${var} is left to the run."""
    config = source.data.get("configuration")
    if not isinstance(config, Mapping):
        return []
    values = {k: substitute(v, variables) for k, v in config.items() if "${" not in str(substitute(v, variables))}
    return [_spec_problem(source, ("configuration",), exc) for exc in settings(values)]


def _activities(exp: Mapping[str, Any]) -> list[tuple[Path_, Any]]:
    found: list[tuple[Path_, Any]] = []
    ssh = exp.get("steady-state-hypothesis")
    if isinstance(ssh, Mapping) and isinstance(ssh.get("probes"), list):
        found += [(("steady-state-hypothesis", "probes", i), a) for i, a in enumerate(ssh["probes"])]
    for block in ("method", "rollbacks"):
        if isinstance(exp.get(block), list):
            found += [((block, i), a) for i, a in enumerate(exp[block])]
    return found


def _check_activity(
    source: Source, path: Path_, activity: Any, variables: Mapping[str, Any]
) -> tuple[bool, list[Problem]]:
    """(is it one of ours, its problems)."""
    if not isinstance(activity, Mapping) or "ref" in activity:
        return False, []
    provider = activity.get("provider")
    if not isinstance(provider, Mapping) or provider.get("type") != "python":
        return False, []
    module_name = provider.get("module")
    if not isinstance(module_name, str) or not module_name.startswith("chaoslib_ext"):
        return False, []
    ppath = (*path, "provider")
    if module_name not in ACTIVITY_MODULES:
        return True, [
            source.problem(
                (*ppath, "module"),
                _where((*ppath, "module"))
                + f"unknown module {module_name!r} (accepted: {', '.join(ACTIVITY_MODULES)})",
            )
        ]
    module = importlib.import_module(module_name)
    func = provider.get("func")
    accepted = list(getattr(module, "__all__", []))
    if func not in accepted:
        return True, [
            source.problem(
                (*ppath, "func"),
                _where((*ppath, "func"))
                + f"unknown function {func!r} in {module_name} (accepted: {', '.join(accepted)})",
            )
        ]
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, Mapping):
        return True, [source.problem((*ppath, "arguments"), _where((*ppath, "arguments")) + "expected a mapping")]
    try:
        module.ARGUMENTS[func](substitute(arguments, variables))
    except SpecError as exc:
        return True, [_spec_problem(source, (*ppath, "arguments"), exc)]
    return True, []


def _spec_problem(source: Source, prefix: Path_, exc: SpecError) -> Problem:
    path = (*prefix, *parse_path(exc.field))
    accepted = f" (accepted: {exc.accepted})" if exc.accepted else ""
    return source.problem(path, f"{_where(path)}{exc.message}{accepted}")


def _where(path: Path_) -> str:
    text = format_path(path)
    return f"{text}: " if text else ""


def _has_control(exp: Mapping[str, Any]) -> bool:
    controls = exp.get("controls") or []
    return isinstance(controls, list) and any(
        isinstance(c, Mapping)
        and isinstance(c.get("provider"), Mapping)
        and c["provider"].get("module") == CONTROL_MODULE
        for c in controls
    )


def _chaostoolkit_problems(source: Source) -> list[Problem]:
    """Chaos Toolkit's own validation; its messages carry no position, so they point at the top."""
    from chaoslib.experiment import ensure_experiment_is_valid

    ctk_log = logging.getLogger("chaostoolkit")
    level = ctk_log.level
    ctk_log.setLevel(logging.ERROR)
    try:
        ensure_experiment_is_valid(copy.deepcopy(source.data))
    except ChaosException as exc:
        return [source.problem((), f"chaostoolkit: {exc}")]
    except Exception as exc:  # its validator crashes on some shapes our schema does not know about
        return [source.problem((), f"chaostoolkit: its validator failed on this file ({type(exc).__name__}: {exc})")]
    finally:
        ctk_log.setLevel(level)
    return []
