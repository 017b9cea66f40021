"""Verdicts: each hypothesis against the measured phases, with the numbers behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, TypedDict

from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.metrics.recovery import RecoveryTime
from chaoslib_ext.verdict.spec import Hypothesis

__all__ = [
    "Bound",
    "Verdict",
    "VerdictJson",
    "VerdictStatus",
    "bound_text",
    "evaluate",
    "no_data",
    "not_measurable",
]

#: pass: the expectation holds; fail: it does not; no-data: nothing to judge (counted as a failure:
#: a missing measurement never passes); error: its phase was not measurable (the load client's own
#: error, chaoslib_ext.metrics.validity): neither a pass nor a fail, the run exits 2
VerdictStatus = Literal["pass", "fail", "no-data", "error"]
#: an upper or lower bound, or the (low, high) of ``within``
Bound = tuple[float, float] | float


class VerdictJson(TypedDict):
    """One item of ``hypotheses`` in ``summary.json``."""

    name: str
    phase: str
    metric: str
    expect: str
    after_s: float | None
    status: VerdictStatus
    passed: bool
    observed: float | None
    reference_phase: str | None
    reference: float | None
    bound: list[float] | float | None
    message: str


@dataclass(frozen=True)
class Verdict:
    """One hypothesis judged: what it asked (name, phase, metric, expect) and what was found."""

    name: str
    phase: str
    metric: str
    expect: str
    after_s: float | None
    reference_phase: str | None
    status: VerdictStatus
    observed: float | None
    reference: float | None
    bound: Bound | None
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_json(self) -> VerdictJson:
        return {
            "name": self.name,
            "phase": self.phase,
            "metric": self.metric,
            "expect": self.expect,
            "after_s": self.after_s,
            "status": self.status,
            "passed": self.passed,
            "observed": self.observed,
            "reference_phase": self.reference_phase,
            "reference": self.reference,
            "bound": list(self.bound) if isinstance(self.bound, tuple) else self.bound,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, raw: VerdictJson) -> Verdict:
        bound = raw.get("bound")
        return cls(
            name=raw["name"],
            phase=raw["phase"],
            metric=raw["metric"],
            expect=raw["expect"],
            after_s=raw.get("after_s"),
            reference_phase=raw.get("reference_phase"),
            status=raw["status"],
            observed=raw["observed"],
            reference=raw.get("reference"),
            bound=(float(bound[0]), float(bound[1])) if isinstance(bound, list) else bound,
            message=raw["message"],
        )


def _verdict(
    h: Hypothesis,
    status: VerdictStatus,
    observed: float | None,
    reference: float | None,
    bound: Bound | None,
    message: str,
) -> Verdict:
    return Verdict(
        h.name, h.phase, h.metric, h.expect.text, h.after_s, h.expect.reference, status, observed, reference, bound,
        message,
    )  # fmt: skip


def no_data(hypothesis: Hypothesis, message: str) -> Verdict:
    """The verdict of a hypothesis with nothing measured to judge it on."""
    return _verdict(hypothesis, "no-data", None, None, None, message)


def not_measurable(verdict: Verdict, phase: str, reason: str) -> Verdict:
    """``verdict`` voided: ``phase`` (its own or its reference) was not measurable, for ``reason``."""
    return replace(verdict, status="error", message=f"not measurable: {phase}: {reason} (was: {verdict.message})")


def _value(phase: PhaseMetrics | None, metric: str) -> float | None:
    return None if phase is None else phase.value(metric)


#: a prometheus hypothesis's value in a phase, or why there is none (chaoslib_ext.promql)
Queried = Callable[[Hypothesis, str], "float | str"]


def evaluate(
    hypothesis: Hypothesis,
    phases: Mapping[str, PhaseMetrics],
    trimmed: Callable[[str, float], PhaseMetrics] | None = None,
    recovered: Callable[[Hypothesis], RecoveryTime] | None = None,
    queried: Queried | None = None,
) -> Verdict:
    """Judge one hypothesis. ``trimmed(phase, after_s)`` gives a phase's metrics without its first seconds;
    ``recovered(h)`` the recovery time a ``recovery_time_s.<metric>`` hypothesis asks about; ``queried(h,
    phase)`` a prometheus hypothesis's value over a phase (or why there is none)."""
    h = hypothesis
    if h.recovery is not None:
        if recovered is None:
            return no_data(h, "no recovery measured: the run has no load after a fault's removal")
        return _recovery_verdict(h, recovered(h))
    if h.prometheus is not None:
        return _queried_verdict(h, queried)
    measured = phases.get(h.phase)
    if h.after_s and trimmed is not None:
        measured = trimmed(h.phase, h.after_s)
    observed = _value(measured, h.metric)
    reference = _value(phases.get(h.expect.reference), h.metric) if h.expect.reference else None
    where = f"{h.phase}" + (f" after {h.after_s:g}s" if h.after_s else "")
    return _judged(h, observed, reference, where, f"no {h.metric} measured in {where}")


def _queried_verdict(h: Hypothesis, queried: Queried | None) -> Verdict:
    """A PromQL range query's value over the phase, judged as a metric's would be (no value: no-data)."""
    assert h.prometheus is not None
    what = h.prometheus.describe()
    if queried is None:
        return no_data(h, f"{what}: no value was fetched for this run")
    observed = queried(h, h.phase)
    if isinstance(observed, str):
        return no_data(h, f"{what} in {h.phase}: {observed}")
    reference = queried(h, h.expect.reference) if h.expect.reference else None
    if isinstance(reference, str):
        return _verdict(h, "no-data", observed, None, None, f"{what} in {h.expect.reference}: {reference}")
    return _judged(h, observed, reference, h.phase, "")


def _judged(h: Hypothesis, observed: float | None, reference: float | None, where: str, missing: str) -> Verdict:
    """The expectation applied to what was observed (and its reference)."""
    if observed is None:
        return _verdict(h, "no-data", None, reference, None, missing)
    bound = h.expect.bound(reference)
    if bound is None:
        return _verdict(
            h, "no-data", observed, None, None, f"no {h.metric} measured in {h.expect.reference} to compare with"
        )
    holds = h.expect.holds(observed, bound)
    relation = "holds" if holds else "violated"
    label = h.prometheus.describe() if h.prometheus is not None else h.metric
    message = (
        f"{label} in {where} = {observed:.4g}; expect {h.expect.text} -> bound {bound_text(bound)}"
        f"{f' ({h.expect.reference} {reference:.4g})' if reference is not None else ''}: {relation}"
    )
    return _verdict(h, "pass" if holds else "fail", observed, reference, bound, message)


def _recovery_verdict(h: Hypothesis, rt: RecoveryTime) -> Verdict:
    """A recovery time judged: never recovered fails (it is a value, not a missing number)."""
    p = rt.policy
    how = (f"window {p.window_s:g}s, step {p.step_s:g}s, hold {p.hold_s:g}s, tolerance {p.tolerance:.0%} of "
           f"baseline {rt.baseline:.4g}" if rt.baseline is not None else "")  # fmt: skip
    if not rt.judged:
        p_need = p.window_s + p.hold_s
        why = "no baseline value" if rt.baseline is None else f"the load ran under {p_need:g}s after the last removal"
        return no_data(h, f"{h.metric}: nothing to judge ({why})")
    bound = h.expect.bound(None)
    assert bound is not None  # recovery expectations are absolute (the spec refuses relative ones)
    if not rt.recovered:
        gap = "nothing measured" if rt.last_gap is None else f"{rt.last_gap:+.0%} from baseline"
        message = (
            f"{h.metric}: never recovered in {rt.windows} windows after the last removal ({how}); last window {gap}"
        )
        return _verdict(h, "fail", None, rt.baseline, bound, message)
    assert rt.seconds is not None
    holds = h.expect.holds(rt.seconds, bound)
    message = (f"{h.metric} = {rt.seconds:g}s ({how}); expect {h.expect.text} -> bound {bound_text(bound)}: "
               f"{'holds' if holds else 'violated'}")  # fmt: skip
    return _verdict(h, "pass" if holds else "fail", rt.seconds, rt.baseline, bound, message)


def bound_text(bound: Bound | None) -> str:
    """``[low, high]`` or the number, 4 significant digits; ``-`` for none."""
    if bound is None:
        return "-"
    return f"[{bound[0]:.4g}, {bound[1]:.4g}]" if isinstance(bound, tuple) else f"{bound:.4g}"
