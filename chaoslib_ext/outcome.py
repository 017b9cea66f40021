"""The exit code of a run, decided by chaoslib_ext from the timeline, the verdicts and the journal,
never from Chaos Toolkit's status alone (it says "completed" when the hypothesis fails before the method).

    0  every hypothesis holds
    1  a hypothesis failed: ours, or Chaos Toolkit's steady state before or after the method, or a
       live check of it during the method (``--hypothesis-strategy continuously``), even when its
       fail-fast interrupted the run
    2  the experiment could not run as written: a fault could not be injected or removed, the load
       never reached the target, an activity failed, or the file is invalid
    3  aborted by the operator (SIGINT, SIGTERM) or a safeguard
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXIT_ABORTED", "EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "Outcome", "decide"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ABORTED = 0, 1, 2, 3
_VERDICTS = {EXIT_OK: "passed", EXIT_FAILED: "failed", EXIT_INVALID: "error", EXIT_ABORTED: "aborted"}
_TRIPPED = "safeguard_tripped"
_COULD_NOT_RUN = {
    "fault_failed": "fault {fault} could not be applied: {error}",
    "load_failed": "load could not run: {error}",
    "removal_failed": "fault {fault} could not be removed: {error}",
}


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        return _VERDICTS[self.exit_code]

    def to_json(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "verdict": self.verdict, "reasons": list(self.reasons)}


def decide(
    events: Sequence[Mapping[str, Any]], verdicts: Sequence[Mapping[str, Any]], journal: Mapping[str, Any] | None
) -> Outcome:
    # An abort comes first: Chaos Toolkit reports the activity a SIGTERM cut short as failed.
    aborted = [f"aborted: {e.get('reason')}" for e in events if e["kind"] == "interrupted"]
    aborted += [f"safeguard {e['safeguard']!r} tripped: {e['reason']}" for e in events if e["kind"] == _TRIPPED]
    if aborted:
        return Outcome(EXIT_ABORTED, tuple(aborted))
    could_not_run = [
        _COULD_NOT_RUN[e["kind"]].format_map({"fault": e.get("fault"), "error": e.get("error")})
        for e in events
        if e["kind"] in _COULD_NOT_RUN
    ]
    could_not_run += _failed_activities(journal)
    if journal is not None and journal.get("status") == "aborted":
        # Chaos Toolkit's "aborted": an unexpected exception in the method, not an operator's abort.
        could_not_run.append("Chaos Toolkit aborted the method on an unexpected error (see chaosllm.log)")
    if could_not_run:
        return Outcome(EXIT_INVALID, tuple(could_not_run))
    failed = [f"hypothesis {v['name']!r}: {v['message']}" for v in verdicts if not v["passed"]]
    failed += _steady_state_failures(journal)
    if failed:  # an interruption by neither a signal nor a safeguard: the live check's fail-fast
        return Outcome(EXIT_FAILED, tuple(failed))
    if journal is not None and journal.get("status") == "interrupted":
        return Outcome(EXIT_ABORTED, ("run interrupted",))
    return Outcome(EXIT_OK)


def _failed_activities(journal: Mapping[str, Any] | None) -> list[str]:
    if journal is None:
        return []
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
    # A failed fault activity is already in the timeline (fault_failed or removal_failed).
    return [
        f"activity {r['activity'].get('name')!r} failed: {r.get('exception', ['?'])[-1].strip()}"
        for r in runs
        if r.get("status") == "failed" and not _is_fault_activity(r["activity"])
    ]


def _is_fault_activity(activity: Mapping[str, Any]) -> bool:
    provider = activity.get("provider")
    return isinstance(provider, Mapping) and str(provider.get("module", "")).startswith("chaoslib_ext.faults")


def _steady_state_failures(journal: Mapping[str, Any] | None) -> list[str]:
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
