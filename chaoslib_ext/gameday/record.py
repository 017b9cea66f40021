"""The game day's record, written into ``<run>/gameday/`` as it happens: ``record.json`` and
``record.md`` (the postmortem skeleton, ``postmortem.md``, comes at the end: gameday/postmortem.py).

It holds the hypothesis sheet, the roles (facilitator, scribe, observers), the preflight's results, the
live log (time | action | observed | steady state OK?), the notes, the abort if any and, once the run
ended, its outcome. The log is the run's timeline as it grows: an action's row says what the client
measured when it was written (TTFT, throughput, errors over the live window), a note's or an
observation's row what someone saw. The run's own process writes it (chaoslib_ext.controls.session),
so the record survives the console.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.timeline import TimelineEvent
from chaoslib_ext.secrets import scrub

__all__ = ["GAMEDAY_KEY", "POSTMORTEM", "RECORD_JSON", "RECORD_MD", "GameDay", "Record", "clock", "event_text"]

GAMEDAY_KEY = "chaosllm_gameday"  # the configuration value a game day's run carries (roles, console)
RECORD_JSON, RECORD_MD, POSTMORTEM = "record.json", "record.md", "postmortem.md"
#: events that are not rows of the log (they have sections of their own, or say nothing to a person)
_NOT_LOGGED = ("preflight", "removal_retried", "proxy_started")


@dataclass(frozen=True)
class GameDay:
    """A game day's settings: its roles, the console that drives it, the baseline's preflight window."""

    facilitator: str | None = None
    scribe: str | None = None
    observers: tuple[str, ...] = ()
    console_pid: int | None = None  # the console that drives the run: gone, the run aborts
    preflight_window_s: float = 10.0  # the baseline must be healthy this long before the first step

    @classmethod
    def parse(cls, raw: object, where: str = GAMEDAY_KEY) -> GameDay:
        f = Fields(raw or {}, ["facilitator", "scribe", "observers", "console_pid", "preflight_window"], where)
        observers = f.sequence("observers", [])
        if not all(isinstance(o, str) for o in observers):
            raise SpecError(f"{where}.observers", "expected a list of names")
        pid = f.integer("console_pid", None, minimum=1)
        window = f.duration("preflight_window", 10.0, positive=True)
        return cls(f.string("facilitator", None), f.string("scribe", None), tuple(observers), pid, window)

    def to_json(self) -> dict[str, Any]:
        return {"facilitator": self.facilitator, "scribe": self.scribe, "observers": list(self.observers)}


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def event_text(e: TimelineEvent) -> str:
    """One line for an event of the timeline, as the console's log and the record show it."""
    who = f" ({e['who']})" if e["kind"] in ("note", "observation", "step", "aborted") and e.get("who") else ""
    if e["kind"] == "note":
        return f"note{who}: {e['text']}"
    if e["kind"] == "observation":
        return f"steady state {'OK' if e['ok'] else 'NOT OK'}{who}" + (f": {e['text']}" if e["text"] else "")
    if e["kind"] == "step":
        return f"step {e['activity']!r} {e['decision']}{who}"
    if e["kind"] == "fault_injected":
        return f"fault {e['fault']} injected on {e['target']}"
    if e["kind"] in ("fault_removed", "fault_expired"):
        return f"fault {e['fault']} {'removed' if e['kind'] == 'fault_removed' else 'expired'}"
    if e["kind"] == "fault_extended":
        return f"fault {e['fault']} extended by {e['by_s']:g}s"
    if e["kind"] == "aborted":
        left = f"; NOT verified gone: {', '.join(e['unverified'])}" if e["unverified"] else ""
        done = f"removed {', '.join(e['removed']) or 'none'}, verified gone {', '.join(e['verified']) or 'none'}"
        return f"ABORT{who} via {e['via']}: {e['reason']} ({done}{left})"
    if e["kind"] == "window":
        return f"observe {e['label']!r} for {e['duration_s']:g}s"
    if e["kind"] == "preflight":
        return f"preflight {e['check']} ({e['subject']}): {'ok' if e['ok'] else 'FAILED'}: {e['detail']}"
    if e["kind"] in ("safeguard_tripped", "interrupted"):
        return f"{e['kind'].replace('_', ' ')}: {e['reason']}"
    if e["kind"] in ("fault_failed", "removal_failed", "load_died", "load_failed"):
        return f"{e['kind'].replace('_', ' ')}: {e['error']}"
    return e["kind"].replace("_", " ")


@dataclass
class Record:
    """The record of one game day; :meth:`update` takes the timeline's new events (cheap when none)."""

    folder: Path
    title: str
    roles: GameDay
    hypotheses: Sequence[Mapping[str, Any]]  # name, phase, metric, expect
    preflight: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    abort: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
    started_at: float = field(default_factory=time.time)
    _seen: int = 0

    def update(self, events: Sequence[TimelineEvent], observed: Callable[[float], str]) -> bool:
        """Add the events not seen yet (``observed(at)``: what the client measured up to that moment);
        write the files when something was added."""
        new = events[self._seen :]
        self._seen = len(events)
        for e in new:
            self._add(e, observed)
        if new:
            self.write()
        return bool(new)

    def _add(self, e: TimelineEvent, observed: Callable[[float], str]) -> None:
        if e["kind"] == "preflight":
            self.preflight.append({"at": e["at"], "check": e["check"], "subject": e["subject"], "ok": e["ok"],
                                   "detail": e["detail"], "blocking": e["blocking"]})  # fmt: skip
            return
        if e["kind"] in _NOT_LOGGED:
            return
        row: dict[str, Any] = {"at": e["at"], "action": "", "observed": "", "steady_state_ok": None}
        if e["kind"] in ("note", "observation"):
            row["observed"] = event_text(e)
            self.notes.append({"at": e["at"], "text": event_text(e)})
            if e["kind"] == "observation":
                row["steady_state_ok"] = e["ok"]
        else:
            row["action"] = event_text(e)
            row["observed"] = observed(e["at"])
        if e["kind"] == "aborted":
            self.abort = {k: v for k, v in e.items() if k != "kind"}
        self.log.append(row)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "started_at": self.started_at, "roles": self.roles.to_json(),
                "hypotheses": [dict(h) for h in self.hypotheses], "preflight": self.preflight, "log": self.log,
                "notes": self.notes, "abort": self.abort, "outcome": self.outcome}  # fmt: skip

    def write(self) -> None:
        write_json_atomic(self.folder / RECORD_JSON, self.to_json())
        tmp = self.folder / f".{RECORD_MD}.tmp"
        tmp.write_text(scrub(self.markdown()), encoding="utf-8")
        tmp.replace(self.folder / RECORD_MD)

    def markdown(self) -> str:
        r = self.roles
        lines = [f"# Game day: {self.title}", "",
                 f"Started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.started_at))}. "
                 f"Facilitator: {r.facilitator or '-'}; scribe: {r.scribe or '-'}; "
                 f"observers: {', '.join(r.observers) or '-'}.", "", "## Hypothesis sheet", "",
                 "| hypothesis | phase | metric | expect |", "|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {_cell(h['name'])} | {h['phase']} | {h['metric']} | {_cell(h['expect'])} |" for h in self.hypotheses
        ]
        lines += ["", "## Preflight", "", "| result | check | subject | detail |", "|---|---|---|---|"]
        lines += [
            f"| {_result(p)} | {p['check']} | {_cell(p['subject'])} | {_cell(p['detail'])} |" for p in self.preflight
        ]
        lines += ["", "## Live log", "", "| time (UTC) | action | observed | steady state OK? |", "|---|---|---|---|"]
        for row in self.log:
            ok = {True: "yes", False: "**no**", None: ""}[row["steady_state_ok"]]
            lines.append(f"| {clock(row['at'])} | {_cell(row['action'])} | {_cell(row['observed'])} | {ok} |")
        lines += ["", "## Notes", ""] + ([f"- {clock(n['at'])} {n['text']}" for n in self.notes] or ["None."])
        lines += ["", "## Abort", "", _abort_line(self.abort)]
        if self.outcome is not None:
            o = self.outcome
            lines += ["", "## Outcome", "", f"{o['verdict'].upper()}, {o['cause']} (exit code {o['exit_code']})"]
            lines += [f"- {r}" for r in o["reasons"]]
        return "\n".join(lines) + "\n"


def _result(p: Mapping[str, Any]) -> str:
    return "ok" if p["ok"] else ("**FAILED**" if p["blocking"] else "warning")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _abort_line(abort: Mapping[str, Any] | None) -> str:
    if abort is None:
        return "None."
    who = f" by {abort['who']}" if abort.get("who") else ""
    unverified = "; ".join(f"{k}: {v}" for k, v in abort["unverified"].items())
    left = f"; NOT verified: {unverified}" if unverified else ""
    return (f"At {clock(abort['at'])}{who}, via {abort['via']}: {abort['reason']}. Removed: "
            f"{', '.join(abort['removed']) or 'none'}; verified gone on their backends: "
            f"{', '.join(abort['verified']) or 'none'}{left}.")  # fmt: skip
