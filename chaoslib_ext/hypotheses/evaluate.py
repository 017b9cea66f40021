"""Verdicts: each hypothesis against the measured phases, with the numbers behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.hypotheses.spec import Hypothesis
from chaoslib_ext.metrics.record import PhaseMetrics

__all__ = ["Verdict", "evaluate"]


@dataclass(frozen=True)
class Verdict:
    """``status``: pass, fail, or no-data (counted as a failure: a missing measurement never passes)."""

    hypothesis: Hypothesis
    status: str
    observed: float | None
    reference: float | None
    bound: tuple[float, float] | float | None
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_json(self) -> dict[str, Any]:
        h = self.hypothesis
        return {
            "name": h.name,
            "phase": h.phase,
            "metric": h.metric,
            "expect": h.expect.text,
            "after_s": h.after_s,
            "status": self.status,
            "passed": self.passed,
            "observed": self.observed,
            "reference_phase": h.expect.reference,
            "reference": self.reference,
            "bound": list(self.bound) if isinstance(self.bound, tuple) else self.bound,
            "message": self.message,
        }


def _value(phase: PhaseMetrics | None, metric: str) -> float | None:
    return None if phase is None else phase.value(metric)


def evaluate(
    hypothesis: Hypothesis,
    phases: Mapping[str, PhaseMetrics],
    trimmed: Callable[[str, float], PhaseMetrics] | None = None,
) -> Verdict:
    """Judge one hypothesis. ``trimmed(phase, after_s)`` gives a phase's metrics without its first seconds."""
    h = hypothesis
    measured = phases.get(h.phase)
    if h.after_s and trimmed is not None:
        measured = trimmed(h.phase, h.after_s)
    observed = _value(measured, h.metric)
    reference = _value(phases.get(h.expect.reference), h.metric) if h.expect.reference else None
    where = f"{h.phase}" + (f" after {h.after_s:g}s" if h.after_s else "")
    if observed is None:
        return Verdict(h, "no-data", None, reference, None, f"no {h.metric} measured in {where}")
    bound = h.expect.bound(reference)
    if bound is None:
        return Verdict(
            h, "no-data", observed, None, None, f"no {h.metric} measured in {h.expect.reference} to compare with"
        )
    holds = h.expect.holds(observed, bound)
    relation = "holds" if holds else "violated"
    bound_text = f"[{bound[0]:.4g}, {bound[1]:.4g}]" if isinstance(bound, tuple) else f"{bound:.4g}"
    ref_text = f" ({h.expect.reference} {reference:.4g})" if reference is not None else ""
    message = (
        f"{h.metric} in {where} = {observed:.4g}; expect {h.expect.text} -> bound {bound_text}{ref_text}: {relation}"
    )
    return Verdict(h, "pass" if holds else "fail", observed, reference, bound, message)
