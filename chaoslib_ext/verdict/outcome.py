"""How a run ended: one cause of a closed set, its exit code, and what to do about it.

Decided by chaoslib_ext from the timeline, the verdicts and the journal, never from Chaos Toolkit's
status alone (it says "completed" when the hypothesis fails before the method). ``CAUSES`` is the one
table: the README's exit-code table is checked against it by a test.

    0  passed                 every hypothesis holds
    1  a hypothesis failed    ours, or Chaos Toolkit's steady state before, after or during the method
    2  could not run as written, or could not be trusted: fix what the cause names, or rerun
    3  aborted: by the operator, a safeguard or the run's deadline
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict, get_args

from chaoslib_ext.ctk import Journal
from chaoslib_ext.run.timeline import TimelineEvent
from chaoslib_ext.verdict.evaluate import Verdict

__all__ = [
    "CAUSES",
    "EXIT_ABORTED",
    "EXIT_FAILED",
    "EXIT_INVALID",
    "EXIT_OK",
    "Cause",
    "CauseInfo",
    "Outcome",
    "OutcomeJson",
    "RunVerdict",
    "decide",
]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ABORTED = 0, 1, 2, 3
#: the run's verdict, one word per exit code
RunVerdict = Literal["passed", "failed", "error", "inconclusive", "aborted"]
_VERDICTS: dict[int, RunVerdict] = {
    EXIT_OK: "passed",
    EXIT_FAILED: "failed",
    EXIT_INVALID: "error",
    EXIT_ABORTED: "aborted",
}

Cause = Literal[
    "passed",
    "hypothesis_failed",
    "steady_state_failed",
    "invalid_experiment",
    "preflight_failed",
    "fault_not_injected",
    "fault_not_removed",
    "load_unreachable",
    "load_died",
    "not_measurable",
    "fault_not_reached",
    "activity_failed",
    "engine_error",
    "operator_abort",
    "safeguard_tripped",
    "deadline_exceeded",
    "interrupted",
]


@dataclass(frozen=True)
class CauseInfo:
    exit_code: int
    means: str  # when it happens
    action: str  # what to do: "fix the experiment", "fix the target", "rerun", ...


CAUSES: dict[Cause, CauseInfo] = {
    "passed": CauseInfo(EXIT_OK, "every hypothesis holds", "none"),
    "hypothesis_failed": CauseInfo(
        EXIT_FAILED, "a hypothesis of the chaosllm block failed", "fix the system under test"
    ),
    "steady_state_failed": CauseInfo(
        EXIT_FAILED,
        "Chaos Toolkit's steady-state hypothesis was not met before, after or during the method",
        "fix the system under test",
    ),
    "invalid_experiment": CauseInfo(
        EXIT_INVALID, "the file, a fault spec or a --var is invalid (nothing ran)", "fix the experiment"
    ),
    "preflight_failed": CauseInfo(
        EXIT_INVALID,
        "`chaosllm check` found a service of the target unreachable (nothing ran), or a game day's baseline "
        "was not healthy before the first step (no fault went in)",
        "fix the target, then rerun",
    ),
    "fault_not_injected": CauseInfo(
        EXIT_INVALID,
        "a fault could not be injected (target refused it, blast radius, backend down); nothing of it is left",
        "fix the experiment or the target",
    ),
    "fault_not_removed": CauseInfo(
        EXIT_INVALID,
        "a fault could not be removed after retries: it may still be in place",
        "clean up (`chaosllm cleanup`), then rerun",
    ),
    "load_unreachable": CauseInfo(
        EXIT_INVALID, "the load never got a successful request from the target", "fix the target or the load block"
    ),
    "load_died": CauseInfo(
        EXIT_INVALID, "a load process died or stopped beating mid-run: its seconds are not measured", "rerun"
    ),
    "not_measurable": CauseInfo(
        EXIT_INVALID,
        "a phase a hypothesis judges was not measurable: the load client lagged or was starved (its error, not "
        "the target's); its hypotheses are errors",
        "give the load more processes or a quieter host (`chaosllm calibrate`), then rerun",
    ),
    "fault_not_reached": CauseInfo(
        EXIT_INVALID,
        "a fault's own counters show it had no effect on any request while requests flowed (inconclusive: a "
        "pass would not mean the system withstood it)",
        "aim the fault at a link the load's requests use, or give it something to act on, then rerun",
    ),
    "activity_failed": CauseInfo(
        EXIT_INVALID, "an activity or a rollback of the experiment raised", "fix the experiment"
    ),
    "engine_error": CauseInfo(
        EXIT_INVALID,
        "Chaos Toolkit aborted the method on an unexpected error (see chaosllm.log)",
        "rerun (report it if it repeats)",
    ),
    "operator_abort": CauseInfo(
        EXIT_ABORTED,
        "SIGINT, SIGTERM or SIGHUP, or the abort (a game day's key, POST /abort, SIGUSR1, `chaosllm abort`, the "
        "abort lock)",
        "rerun when wanted",
    ),
    "safeguard_tripped": CauseInfo(
        EXIT_ABORTED, "a stop condition of the safeguards tripped", "fix the system under test"
    ),
    "deadline_exceeded": CauseInfo(EXIT_ABORTED, "the run's deadline passed", "fix the target, or raise `deadline`"),
    "interrupted": CauseInfo(EXIT_ABORTED, "Chaos Toolkit interrupted the method for another reason", "rerun"),
}
assert set(CAUSES) == set(get_args(Cause))


class OutcomeJson(TypedDict):
    exit_code: int
    verdict: RunVerdict
    cause: Cause
    reasons: list[str]


@dataclass(frozen=True)
class Outcome:
    cause: Cause
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return CAUSES[self.cause].exit_code

    @property
    def verdict(self) -> RunVerdict:
        return "inconclusive" if self.cause == "fault_not_reached" else _VERDICTS[self.exit_code]

    def to_json(self) -> OutcomeJson:
        return {
            "exit_code": self.exit_code,
            "verdict": self.verdict,
            "cause": self.cause,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, raw: OutcomeJson) -> Outcome:
        return cls(raw["cause"], tuple(raw["reasons"]))


def decide(
    events: Sequence[TimelineEvent], verdicts: Sequence[Verdict], journal: Journal | None, missed: Sequence[str] = ()
) -> Outcome:
    """The outcome of a run; the first cause found in this order: aborted, could not run, failed, passed.
    ``missed``: why faults reached no request (RunSummary.missed_faults): the run is inconclusive."""
    # An abort comes first: Chaos Toolkit reports the activity a SIGTERM cut short as failed.
    aborted = _aborted(events)
    if aborted is not None:
        return aborted
    could_not_run = [found for e in events if (found := _could_not_run(e)) is not None]
    could_not_run += [("activity_failed", reason) for reason in _failed_activities(journal)]
    if journal is not None and journal.get("status") == "aborted":
        # Chaos Toolkit's "aborted": an unexpected exception in the method, not an operator's abort.
        could_not_run.append(
            ("engine_error", "Chaos Toolkit aborted the method on an unexpected error (see chaosllm.log)")
        )
    could_not_run += [
        ("not_measurable", f"hypothesis {v.name!r}: {v.message}") for v in verdicts if v.status == "error"
    ]
    could_not_run += [("fault_not_reached", reason) for reason in missed]
    if could_not_run:
        return Outcome(_first_listed([c for c, _ in could_not_run]), tuple(r for _, r in could_not_run))
    failed = [f"hypothesis {v.name!r}: {v.message}" for v in verdicts if not v.passed]
    steady = _steady_state_failures(journal)
    if failed or steady:  # an interruption by neither a signal nor a safeguard: the live check's fail-fast
        return Outcome("hypothesis_failed" if failed else "steady_state_failed", tuple(failed + steady))
    if journal is not None and journal.get("status") == "interrupted":
        return Outcome("interrupted", ("run interrupted",))
    return Outcome("passed")


def _could_not_run(e: TimelineEvent) -> tuple[Cause, str] | None:
    """The cause an event of the timeline gives for a run that could not run as written, if any."""
    if e["kind"] == "fault_failed":
        return "fault_not_injected", f"fault {e.get('fault')} could not be applied: {e.get('error')}"
    if e["kind"] == "load_failed":
        return "load_unreachable", f"load could not run: {e.get('error')}"
    if e["kind"] == "load_died":
        return "load_died", f"load process {e.get('process')} died: {e.get('error')}"
    if e["kind"] == "removal_failed":
        return "fault_not_removed", f"fault {e.get('fault')} could not be removed: {e.get('error')}"
    if e["kind"] == "preflight" and e["blocking"] and not e["ok"]:
        return "preflight_failed", f"preflight {e['check']} ({e['subject']}): {e['detail']}"
    return None


def _aborted(events: Sequence[TimelineEvent]) -> Outcome | None:
    found: list[tuple[Cause, str]] = []
    for e in events:
        if e["kind"] == "interrupted":
            cause: Cause = "deadline_exceeded" if e.get("cause") == "deadline_exceeded" else "operator_abort"
            found.append((cause, f"aborted: {e.get('reason')}"))
        elif e["kind"] == "safeguard_tripped":
            found.append(("safeguard_tripped", f"safeguard {e['safeguard']!r} tripped: {e['reason']}"))
        elif e["kind"] == "aborted":
            who = f" by {e['who']}" if e.get("who") else ""
            found.append(("operator_abort", f"aborted{who} ({e['via']}): {e['reason']}"))
    if not found:
        return None
    return Outcome(found[0][0], tuple(reason for _, reason in found))


def _first_listed(causes: list[Cause]) -> Cause:
    """The cause that matters most: a fault possibly left in place, then the order of ``CAUSES``."""
    order = list(CAUSES)
    return min(causes, key=order.index) if "fault_not_removed" not in causes else "fault_not_removed"


def _failed_activities(journal: Journal | None) -> list[str]:
    if journal is None:
        return []
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
    # A failed fault activity is already in the timeline (fault_failed or removal_failed).
    return [
        f"activity {r['activity'].get('name')!r} failed: {r.get('exception', ['?'])[-1].strip()}"
        for r in runs
        if r.get("status") == "failed" and not _is_fault_activity(r["activity"])
    ]


def _is_fault_activity(activity: Mapping[str, object]) -> bool:
    provider = activity.get("provider")
    return isinstance(provider, Mapping) and str(provider.get("module", "")).startswith("chaoslib_ext.faults")


def _steady_state_failures(journal: Journal | None) -> list[str]:
    if journal is None:
        return []
    out = []
    states = journal.get("steady_states") or {}
    for moment in ("before", "after"):
        state = states.get(moment)
        if isinstance(state, Mapping) and state.get("steady_state_met") is False:
            out.append(f"Chaos Toolkit steady-state hypothesis not met {moment} the method")
    live = [s for s in states.get("during") or [] if isinstance(s, Mapping)]
    missed = [s for s in live if s.get("steady_state_met") is False]
    if missed:
        out.append(
            f"Chaos Toolkit steady-state hypothesis not met in {len(missed)} of {len(live)} live checks "
            f"during the method (first at {missed[0].get('start', '?')})"
        )
    return out
