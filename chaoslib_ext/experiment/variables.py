"""``${name}`` in an experiment, replaced by configuration values as Chaos Toolkit does for activities.

A string that is exactly ``${name}`` takes the value itself (a number stays a number); inside a longer
string the value is formatted in. Unknown names are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["configuration_values", "substitute"]

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
