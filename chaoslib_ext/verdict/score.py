"""The resilience score: one number from 0 to 100 for how much of its baseline the system kept
under the fault and got back after it. Stated on every report as :data:`FORMULA`.

    kept_throughput = min(1, tok/s in fault / tok/s in baseline) x (1 - error rate in fault)
    kept_latency    = min(1, TTFT p99 in baseline / TTFT p99 in fault)
    recovered       = min(1, tok/s in recovery / tok/s in baseline)
                      x min(1, TTFT p99 in baseline / TTFT p99 in recovery)
    score           = 100 x (0.4 kept_throughput + 0.3 kept_latency + 0.3 recovered)

Hypotheses are judged on their own; the score compares runs and experiments at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from chaoslib_ext.metrics.record import PhaseMetrics

__all__ = ["FORMULA", "Resilience", "ResilienceJson", "resilience_score"]

FORMULA = (
    "score = 100 × (0.4 × kept_throughput + 0.3 × kept_latency + 0.3 × recovered), where "
    "kept_throughput = min(1, tok/s fault ÷ tok/s baseline) × (1 − error rate fault); "
    "kept_latency = min(1, TTFT p99 baseline ÷ TTFT p99 fault); "
    "recovered = min(1, tok/s recovery ÷ tok/s baseline) × min(1, TTFT p99 baseline ÷ TTFT p99 recovery)"
)
WEIGHTS = {"kept_throughput": 0.4, "kept_latency": 0.3, "recovered": 0.3}


class ResilienceJson(TypedDict):
    score: float | None
    components: dict[str, float | None]
    missing: list[str]
    formula: str


@dataclass(frozen=True)
class Resilience:
    """The score (None, with ``missing``, when a phase lacks data) and its components."""

    score: float | None
    components: dict[str, float | None]
    missing: tuple[str, ...]
    formula: str = FORMULA

    def to_json(self) -> ResilienceJson:
        return {
            "score": self.score,
            "components": dict(self.components),
            "missing": list(self.missing),
            "formula": self.formula,
        }

    @classmethod
    def from_json(cls, raw: ResilienceJson) -> Resilience:
        return cls(raw["score"], dict(raw["components"]), tuple(raw["missing"]), raw["formula"])


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return min(1.0, num / den) if num >= 0 else 0.0


def resilience_score(phases: Mapping[str, PhaseMetrics]) -> Resilience:
    """The score of a run's measured phases."""

    def get(phase: str, metric: str) -> float | None:
        measured = phases.get(phase)
        return None if measured is None else measured.value(metric)

    tps = {p: get(p, "output_throughput_tps") for p in ("baseline", "fault", "recovery")}
    p99 = {p: get(p, "ttft_ms.p99") for p in ("baseline", "fault", "recovery")}
    errors = get("fault", "error_rate")
    kept = _ratio(tps["fault"], tps["baseline"])
    recovered_tps = _ratio(tps["recovery"], tps["baseline"])
    recovered_ttft = _ratio(p99["baseline"], p99["recovery"])
    components = {
        "kept_throughput": None if kept is None or errors is None else kept * (1.0 - errors),
        "kept_latency": _ratio(p99["baseline"], p99["fault"]),
        "recovered": None if recovered_tps is None or recovered_ttft is None else recovered_tps * recovered_ttft,
    }
    missing = tuple(name for name, value in components.items() if value is None)
    score = None if missing else 100.0 * sum(WEIGHTS[k] * float(v) for k, v in components.items() if v is not None)
    return Resilience(score, components, missing)
