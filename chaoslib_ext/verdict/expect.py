"""The ``expect`` of a hypothesis: a bound, absolute or relative to another phase.

< 400                  <= 2s                 (absolute; ms metrics take ms or s)
>= 50% of baseline     <= 120% of baseline   (a share of the same metric in another phase)
>= baseline + 150ms    <= baseline - 10      (another phase, shifted)
within 20% of baseline                       (|value - reference| <= 20 % of the reference)
within 50ms of baseline                      (|value - reference| <= 50 ms)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from chaoslib_ext.exceptions import SpecError

__all__ = ["EXPECT_ACCEPTED", "Comparison", "ExpectKind", "Expectation", "Op", "parse_expect"]

#: how a value is compared with a bound
Comparison = Literal["<", "<=", ">", ">="]
Op = Literal["<", "<=", ">", ">=", "within"]
#: absolute: a number; share: P % of a phase; shift: a phase + N; within_share / within_abs: a band
#: around a phase's value, P % or N wide
ExpectKind = Literal["absolute", "share", "shift", "within_share", "within_abs"]

EXPECT_ACCEPTED = (
    "'< N', '<= N', '> N', '>= N', '>= P% of PHASE', '<= PHASE + N', 'within P% of PHASE', 'within N of PHASE'"
)
_PHASES = ("baseline", "fault", "recovery", "overall")
_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = r"(ms|s)?"
_PHASE = r"([a-z]+)"
_OPS: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ABSOLUTE = re.compile(rf"^(<=|>=|<|>)\s*{_NUM}\s*{_UNIT}$")
_SHARE = re.compile(rf"^(<=|>=|<|>)\s*{_NUM}\s*%\s*of\s+{_PHASE}$")
_SHIFTED = re.compile(rf"^(<=|>=|<|>)\s*{_PHASE}(?:\s*([+-])\s*{_NUM}\s*{_UNIT})?$")
_WITHIN_SHARE = re.compile(rf"^within\s+{_NUM}\s*%\s*of\s+{_PHASE}$")
_WITHIN_ABS = re.compile(rf"^within\s+{_NUM}\s*{_UNIT}\s+of\s+{_PHASE}$")


@dataclass(frozen=True)
class Expectation:
    """``op`` compares the value with a bound; a relative bound is computed from ``reference``'s value."""

    text: str
    op: Op
    number: float  # the absolute bound, the share (0.5 for 50 %), the shift, or the tolerance
    reference: str | None = None  # the phase whose value the bound is relative to
    kind: ExpectKind = "absolute"

    def bound(self, reference_value: float | None) -> tuple[float, float] | float | None:
        """The bound (a (low, high) pair for ``within``), or None when the reference has no value."""
        if self.reference is None:
            return self.number
        if reference_value is None:
            return None
        if self.kind == "share":
            return self.number * reference_value
        if self.kind == "shift":
            return reference_value + self.number
        tolerance = self.number * abs(reference_value) if self.kind == "within_share" else self.number
        return (reference_value - tolerance, reference_value + tolerance)

    def holds(self, value: float, bound: tuple[float, float] | float) -> bool:
        if isinstance(bound, tuple):
            return bound[0] <= value <= bound[1]
        return _OPS[cast(Comparison, self.op)](value, bound)


def _op(matched: str) -> Comparison:
    """The comparison a pattern matched (the patterns only match these four)."""
    assert matched in _OPS
    return matched


#: a time unit in seconds: a bound written in one unit is scaled to the metric's
_SECONDS = {"ms": 0.001, "s": 1.0}


def parse_expect(text: object, metric_unit: str, field: str = "expect") -> Expectation:
    """Parse an expectation for a metric measured in ``metric_unit`` ('ms', 's' or ''); raises SpecError."""
    if not isinstance(text, str):
        raise SpecError(field, f"expected a string, got {text!r}", EXPECT_ACCEPTED)
    t = " ".join(text.strip().split())

    def scaled(num: str, unit: str | None) -> float:
        if unit and metric_unit not in _SECONDS:
            raise SpecError(field, f"unit {unit!r} given for a metric without a time unit", EXPECT_ACCEPTED)
        return float(num) * (_SECONDS[unit] / _SECONDS[metric_unit] if unit else 1.0)

    def phase(name: str) -> str:
        if name not in _PHASES:
            raise SpecError(field, f"unknown phase {name!r} in {text!r}", ", ".join(_PHASES))
        return name

    if m := _ABSOLUTE.match(t):
        return Expectation(text, _op(m[1]), scaled(m[2], m[3]))
    if m := _SHARE.match(t):
        return Expectation(text, _op(m[1]), float(m[2]) / 100.0, phase(m[3]), "share")
    if m := _SHIFTED.match(t):
        shift = scaled(m[4], m[5]) * (-1 if m[3] == "-" else 1) if m[3] else 0.0
        return Expectation(text, _op(m[1]), shift, phase(m[2]), "shift")
    if m := _WITHIN_SHARE.match(t):
        return Expectation(text, "within", float(m[1]) / 100.0, phase(m[2]), "within_share")
    if m := _WITHIN_ABS.match(t):
        return Expectation(text, "within", scaled(m[1], m[2]), phase(m[3]), "within_abs")
    raise SpecError(field, f"cannot read {text!r}", EXPECT_ACCEPTED)
