"""The ``compare`` block of an experiment: what ``chaosllm bench`` alternates by default.

compare:
  a: {model: sandbox-v1}        # configuration values of side A (as --var KEY=VALUE)
  b: {model: sandbox-v2}        # of side B
  blocks: 4                     # A B A B (default 4)
  thresholds: {ttft_ms.p99: 5%} # smallest change that counts, per metric (default: see compare.metrics)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaoslib_ext.compare.metrics import parse_metric
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["DEFAULT_BLOCKS", "CompareSpec", "parse_fraction"]

DEFAULT_BLOCKS = 4


def parse_fraction(value: object, where: str) -> float:
    """``5%`` or ``0.05`` as 0.05; raises SpecError naming ``where`` and the accepted forms."""
    raw = str(value).strip()
    try:
        number = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise SpecError(where, f"{value!r} is not a number", "5%, 0.05") from None
    if number < 0 or isinstance(value, bool):
        raise SpecError(where, f"{value!r} is not a non-negative number", "5%, 0.05")
    return number


ConfigValue = str | int | float | bool


@dataclass(frozen=True)
class CompareSpec:
    a: dict[str, ConfigValue]  # configuration values of side A
    b: dict[str, ConfigValue]
    blocks: int = DEFAULT_BLOCKS
    thresholds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: object, where: str) -> CompareSpec:
        f = Fields(raw, ["a", "b", "blocks", "thresholds"], where)
        sides = {}
        for side in ("a", "b"):
            values = f.mapping(side)
            if not values or not all(isinstance(v, str | int | float | bool) for v in values.values()):
                raise SpecError(f"{where}.{side}", "expected configuration values", "{model: sandbox-v2}")
            sides[side] = dict(values)
        thresholds = {}
        for key, value in f.mapping("thresholds", {}).items():
            try:
                parse_metric(str(key))
            except ValueError as exc:
                raise SpecError(f"{where}.thresholds.{key}", str(exc)) from None
            thresholds[str(key)] = parse_fraction(value, f"{where}.thresholds.{key}")
        return cls(sides["a"], sides["b"], f.integer("blocks", DEFAULT_BLOCKS, minimum=2, maximum=100), thresholds)
