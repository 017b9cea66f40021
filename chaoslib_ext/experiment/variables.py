"""``${name}`` in an experiment, replaced by configuration values as Chaos Toolkit does for activities.

A string that is exactly ``${name}`` takes the value itself (a number stays a number); inside a longer
string the value is formatted in. Unknown names are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoslib_ext.run.context import TARGET_KEY
from chaoslib_ext.target import SANDBOX

__all__ = ["anchored_target", "configuration_values", "substitute"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def configuration_values(experiment: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The experiment's plain configuration values (not env/probe definitions), then ``overrides``."""
    config = experiment.get("configuration") or {}
    values = {k: v for k, v in config.items() if not isinstance(v, Mapping)} if isinstance(config, Mapping) else {}
    values.update(overrides or {})
    return values


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole and whole[1] in variables:
            return variables[whole[1]]
        return _VAR.sub(lambda m: str(variables.get(m[1], m[0])), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, Mapping):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def anchored_target(
    experiment_file: str, experiment: Mapping[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """``overrides`` with the experiment's own ``chaosllm_target`` made absolute when it is a relative path:
    a target file named in an experiment is relative to the experiment's directory (one given with
    ``--var`` stays relative to the working directory)."""
    out = dict(overrides)
    ref = configuration_values(experiment).get(TARGET_KEY)
    if TARGET_KEY in out or not isinstance(ref, str) or ref == SANDBOX or "${" in ref or Path(ref).is_absolute():
        return out
    out[TARGET_KEY] = str(Path(experiment_file).resolve().parent / ref)
    return out
