"""What happened when during a run: load start and stop, faults in and out, windows, notes.

``timeline.json`` is ``{"events": [...]}``, each event ``{"at": <unix s>, "kind": ..., ...}``, one
``TypedDict`` per kind below (:data:`EVENT_KINDS` lists them; a test holds this docstring to it) and
one ``record_*`` method of :class:`Timeline` writing each:

    LoadStarted       load_started {url, users, warmup_s}  the load flows; measuring starts after warmup
    LoadStopped       load_stopped                          the load was stopped; measuring ends
    LoadFailed        load_failed {error}                   the load could not start
    LoadDied          load_died {process, error, last_beat_at}  a load process died mid-run
    WindowMarked      window {label, duration_s}            a named wait of the method
    FaultInjected     fault_injected {fault, family, target, spec, details}
    FaultRemoved      fault_removed {fault}
    FaultFailed       fault_failed {fault, error, family?}  a fault could not be injected
    FaultExpired      fault_expired {fault, by}             a fault's TTL ran out before its removal
    RemovalRetried    removal_retried {fault, attempt, error}
    RemovalFailed     removal_failed {fault, error}         a fault could not be removed after retries
    SafeguardTripped  safeguard_tripped {safeguard, reason, breached_for_s?}
    Interrupted       interrupted {reason, cause?}          a signal, the deadline, or the operator
    ProxyStarted      proxy_started {control_url, links}    the run's own fault proxy is up
    Note              note {text, who?}                     what someone watching the run wrote
    Observation       observation {ok, text, who?}          steady state OK or not, as someone saw it
    Step              step {activity, decision, who?}       a step of the method approved, skipped, held...
    FaultExtended     fault_extended {fault, by_s, until}   a fault's hold (and TTL) lengthened in place
    Aborted           aborted {via, reason, who?, removed, verified, unverified}  the one abort path:
                                                            every fault removed, each checked gone
    PreflightChecked  preflight {check, subject, ok, detail, blocking}  a check executed before the
                                                            faults (a failed blocking one stops the run)
    ClusterChanged    cluster {service, pod, change, detail}   a cluster target's pods: restarted,
                                                            oom_killed, ready, not_ready, added, deleted,
                                                            warning, all_ready, not_all_ready, watched

Phase boundaries are computed from these events, never guessed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, cast, get_args

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import JsonObject, JsonValue, read_json, write_json_atomic

__all__ = [
    "EVENT_KINDS",
    "Aborted",
    "ClusterChange",
    "ClusterChanged",
    "EventKind",
    "FaultExpired",
    "FaultExtended",
    "FaultFailed",
    "FaultInjected",
    "FaultInterval",
    "FaultRemoved",
    "Interrupted",
    "LoadDied",
    "LoadFailed",
    "LoadStarted",
    "LoadStopped",
    "Note",
    "Observation",
    "PreflightChecked",
    "ProxyStarted",
    "RemovalFailed",
    "RemovalRetried",
    "SafeguardTripped",
    "Step",
    "StepDecision",
    "Timeline",
    "TimelineEvent",
    "WindowMarked",
]

EventKind = Literal[
    "load_started",
    "load_stopped",
    "load_failed",
    "load_died",
    "window",
    "fault_injected",
    "fault_removed",
    "fault_failed",
    "fault_expired",
    "removal_retried",
    "removal_failed",
    "safeguard_tripped",
    "interrupted",
    "proxy_started",
    "note",
    "observation",
    "step",
    "fault_extended",
    "aborted",
    "preflight",
    "cluster",
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)


class LoadStarted(TypedDict):
    at: float
    kind: Literal["load_started"]
    url: str
    users: int | None
    warmup_s: float


class LoadStopped(TypedDict):
    at: float
    kind: Literal["load_stopped"]


class LoadFailed(TypedDict):
    at: float
    kind: Literal["load_failed"]
    error: str


class LoadDied(TypedDict):
    at: float
    kind: Literal["load_died"]
    process: str
    error: str
    last_beat_at: float


class WindowMarked(TypedDict):
    at: float
    kind: Literal["window"]
    label: str
    duration_s: float


class FaultInjected(TypedDict):
    at: float
    kind: Literal["fault_injected"]
    fault: str
    family: str
    target: str
    spec: JsonObject
    details: NotRequired[JsonObject]


class FaultRemoved(TypedDict):
    at: float
    kind: Literal["fault_removed"]
    fault: str


class FaultFailed(TypedDict):
    at: float
    kind: Literal["fault_failed"]
    fault: str
    error: str
    family: NotRequired[str]


class FaultExpired(TypedDict):
    at: float
    kind: Literal["fault_expired"]
    fault: str
    by: str


class RemovalRetried(TypedDict):
    at: float
    kind: Literal["removal_retried"]
    fault: str
    attempt: int
    error: str


class RemovalFailed(TypedDict):
    at: float
    kind: Literal["removal_failed"]
    fault: str
    error: str


class SafeguardTripped(TypedDict):
    at: float
    kind: Literal["safeguard_tripped"]
    safeguard: str
    reason: str
    breached_for_s: NotRequired[float]


class Interrupted(TypedDict):
    at: float
    kind: Literal["interrupted"]
    reason: str
    cause: NotRequired[str | None]


class ProxyStarted(TypedDict):
    at: float
    kind: Literal["proxy_started"]
    control_url: str
    links: JsonValue


class Note(TypedDict):
    at: float
    kind: Literal["note"]
    text: str
    who: NotRequired[str]


class Observation(TypedDict):
    at: float
    kind: Literal["observation"]
    ok: bool  # steady state OK (True) or not
    text: str
    who: NotRequired[str]


#: what the facilitator decided for a step of the method: ran it (approved), left it out (skipped), or
#: stopped the method before the next step until released (held / released)
StepDecision = Literal["approved", "skipped", "held", "released"]


class Step(TypedDict):
    at: float
    kind: Literal["step"]
    activity: str
    decision: StepDecision
    who: NotRequired[str]


class FaultExtended(TypedDict):
    at: float
    kind: Literal["fault_extended"]
    fault: str
    by_s: float
    until: float  # unix time the fault is now held until


class Aborted(TypedDict):
    at: float
    kind: Literal["aborted"]
    via: str  # key, POST /abort, SIGUSR1, chaosllm abort, the abort lock
    reason: str
    who: NotRequired[str]
    removed: list[str]  # faults the abort removed
    verified: list[str]  # faults each backend then said were gone (a second removal found nothing)
    unverified: dict[str, str]  # fault -> why it could not be said to be gone


class PreflightChecked(TypedDict):
    at: float
    kind: Literal["preflight"]
    check: str
    subject: str
    ok: bool
    detail: str
    blocking: bool  # a failure stops the run (preflight_failed); else it is a warning in the record


ClusterChange = Literal[
    "watched", "restarted", "oom_killed", "ready", "not_ready", "added", "deleted", "warning", "all_ready",
    "not_all_ready",
]  # fmt: skip


class ClusterChanged(TypedDict):
    at: float
    kind: Literal["cluster"]
    service: str  # "" for the whole target (watched, all_ready, not_all_ready)
    pod: str
    change: ClusterChange
    detail: str


TimelineEvent = (
    LoadStarted | LoadStopped | LoadFailed | LoadDied | WindowMarked | FaultInjected | FaultRemoved | FaultFailed
    | FaultExpired | RemovalRetried | RemovalFailed | SafeguardTripped | Interrupted | ProxyStarted | Note
    | Observation | Step | FaultExtended | Aborted | PreflightChecked | ClusterChanged
)  # fmt: skip


@dataclass(frozen=True)
class FaultInterval:
    """When one fault was in effect; ``removed_at`` None: still active at the end."""

    name: str
    injected_at: float
    removed_at: float | None


def _now(at: float | None) -> float:
    return time.time() if at is None else at


class Timeline:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, event: TimelineEvent) -> TimelineEvent:
        with locked(self.path):
            events = self.events()
            events.append(event)
            write_json_atomic(self.path, {"events": events})
        return event

    def record_load_started(self, url: str, users: int | None, warmup_s: float, at: float | None = None) -> None:
        self._append({"at": _now(at), "kind": "load_started", "url": url, "users": users, "warmup_s": warmup_s})

    def record_load_stopped(self, at: float | None = None) -> None:
        self._append({"at": _now(at), "kind": "load_stopped"})

    def record_load_failed(self, error: str) -> None:
        self._append({"at": _now(None), "kind": "load_failed", "error": error})

    def record_load_died(self, process: str, error: str, last_beat_at: float) -> None:
        self._append(
            {"at": _now(None), "kind": "load_died", "process": process, "error": error, "last_beat_at": last_beat_at}
        )

    def record_window(self, label: str, duration_s: float) -> WindowMarked:
        event: WindowMarked = {"at": _now(None), "kind": "window", "label": label, "duration_s": duration_s}
        self._append(event)
        return event

    def record_fault_injected(
        self, fault: str, family: str, target: str, spec: JsonObject, details: JsonObject, at: float | None = None
    ) -> None:
        event: FaultInjected = {"at": _now(at), "kind": "fault_injected", "fault": fault, "family": family,
                                "target": target, "spec": spec}  # fmt: skip
        if details:
            event["details"] = details
        self._append(event)

    def record_fault_removed(self, fault: str, at: float | None = None) -> None:
        self._append({"at": _now(at), "kind": "fault_removed", "fault": fault})

    def record_fault_failed(self, fault: str, error: str, family: str | None = None) -> None:
        event: FaultFailed = {"at": _now(None), "kind": "fault_failed", "fault": fault, "error": error}
        if family is not None:
            event["family"] = family
        self._append(event)

    def record_fault_expired(self, fault: str, by: str) -> None:
        self._append({"at": _now(None), "kind": "fault_expired", "fault": fault, "by": by})

    def record_removal_retried(self, fault: str, attempt: int, error: str) -> None:
        self._append({"at": _now(None), "kind": "removal_retried", "fault": fault, "attempt": attempt, "error": error})

    def record_removal_failed(self, fault: str, error: str) -> None:
        self._append({"at": _now(None), "kind": "removal_failed", "fault": fault, "error": error})

    def record_safeguard_tripped(self, safeguard: str, reason: str, breached_for_s: float | None, at: float) -> None:
        event: SafeguardTripped = {"at": at, "kind": "safeguard_tripped", "safeguard": safeguard, "reason": reason}
        if breached_for_s is not None:
            event["breached_for_s"] = breached_for_s
        self._append(event)

    def record_interrupted(self, reason: str, cause: str | None = None, at: float | None = None) -> None:
        event: Interrupted = {"at": _now(at), "kind": "interrupted", "reason": reason}
        if cause is not None:
            event["cause"] = cause
        self._append(event)

    def record_proxy_started(self, control_url: str, links: JsonValue) -> None:
        self._append({"at": _now(None), "kind": "proxy_started", "control_url": control_url, "links": links})

    def record_note(self, text: str, at: float | None = None, who: str | None = None) -> None:
        event: Note = {"at": _now(at), "kind": "note", "text": text}
        if who:
            event["who"] = who
        self._append(event)

    def record_observation(self, ok: bool, text: str, who: str | None = None) -> None:
        event: Observation = {"at": _now(None), "kind": "observation", "ok": ok, "text": text}
        if who:
            event["who"] = who
        self._append(event)

    def record_step(self, activity: str, decision: StepDecision, who: str | None = None) -> None:
        event: Step = {"at": _now(None), "kind": "step", "activity": activity, "decision": decision}
        if who:
            event["who"] = who
        self._append(event)

    def record_preflight(self, check: str, subject: str, ok: bool, detail: str, blocking: bool = True) -> None:
        self._append({"at": _now(None), "kind": "preflight", "check": check, "subject": subject, "ok": ok,
                      "detail": detail, "blocking": blocking})  # fmt: skip

    def record_cluster(self, service: str, pod: str, change: ClusterChange, detail: str) -> None:
        self._append({"at": _now(None), "kind": "cluster", "service": service, "pod": pod, "change": change,
                      "detail": detail})  # fmt: skip

    def record_fault_extended(self, fault: str, by_s: float, until: float) -> None:
        self._append({"at": _now(None), "kind": "fault_extended", "fault": fault, "by_s": by_s, "until": until})

    def record_aborted(
        self, at: float, via: str, reason: str, who: str | None, removed: list[str], verified: list[str],
        unverified: dict[str, str],
    ) -> None:  # fmt: skip
        event: Aborted = {"at": at, "kind": "aborted", "via": via, "reason": reason, "removed": removed,
                          "verified": verified, "unverified": unverified}  # fmt: skip
        if who:
            event["who"] = who
        self._append(event)

    def events(self) -> list[TimelineEvent]:
        """Every event, in the order recorded (the file is ours: its events are of the catalogue)."""
        if not self.path.exists():
            return []
        return cast(list[TimelineEvent], read_json(self.path)["events"])

    def has(self, kind: EventKind) -> bool:
        return any(e["kind"] == kind for e in self.events())

    def fault_intervals(self) -> list[FaultInterval]:
        """Every injected fault with the time it was removed (None if never)."""
        injected: dict[str, float] = {}
        removed: dict[str, float] = {}
        for e in self.events():
            if e["kind"] == "fault_injected":
                injected[e["fault"]] = e["at"]
            elif e["kind"] == "fault_removed":
                removed.setdefault(e["fault"], e["at"])
        return [FaultInterval(name, at, removed.get(name)) for name, at in injected.items()]

    def measure_window(self) -> tuple[float, float] | None:
        """(load start + warmup, load stop), or None when load never started. A load process that died
        ends the window at its last heartbeat: the seconds after it were not measured."""
        events = self.events()
        started = next((e for e in events if e["kind"] == "load_started"), None)
        if started is None:
            return None
        stopped = next((e for e in events if e["kind"] == "load_stopped"), None)
        end = stopped["at"] if stopped else time.time()
        died = next((e for e in events if e["kind"] == "load_died"), None)
        if died is not None:
            end = min(end, float(died.get("last_beat_at", died["at"])))
        start = started["at"] + float(started.get("warmup_s", 0.0))
        return start, max(end, start)
