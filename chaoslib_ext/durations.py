"""Durations written the way Chaos Mesh and Go write them: ``250ms``, ``20s``, ``1m30s``."""

from __future__ import annotations

import re

from chaoslib_ext.exceptions import SpecError

__all__ = ["DURATION_ACCEPTED", "format_duration", "parse_duration"]

DURATION_ACCEPTED = "a number with a unit: us, ms, s, m or h (e.g. 250ms, 20s, 1m30s)"

_UNIT_S = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)")


def parse_duration(value: object, field: str = "", *, allow_zero: bool = True) -> float:
    """The duration in seconds; raises SpecError naming ``field`` when malformed or negative."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SpecError(field, f"expected a duration, got {type(value).__name__}", DURATION_ACCEPTED)
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise SpecError(field, f"duration {value!r} has no unit", DURATION_ACCEPTED)
    text = value.strip()
    if text.startswith("-"):
        raise SpecError(field, f"duration {value!r} is negative", DURATION_ACCEPTED)
    if text == "0":
        return 0.0
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        raise SpecError(field, f"duration {value!r} has no unit", DURATION_ACCEPTED)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise SpecError(field, f"malformed duration {value!r}", DURATION_ACCEPTED)
    if total == 0 and not allow_zero:
        raise SpecError(field, f"duration {value!r} must be above zero", DURATION_ACCEPTED)
    return total


def format_duration(seconds: float) -> str:
    """A short human form: ``200ms``, ``20s``, ``1m30s``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    if minutes == 0:
        return f"{rest:g}s"
    return f"{int(minutes)}m{rest:g}s" if rest else f"{int(minutes)}m"
