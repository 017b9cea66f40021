"""Load health: a load process that dies mid-run stops the run (exit 2), and its dead seconds are
never measured.

Every Locust process (the only one, or the master and each ``--processes`` worker) writes a beat
once a second to ``<run>/load/heartbeats/<pid>.json``, from a greenlet of its own that depends on no
response::

    {"pid": 4242, "start_ticks": 987654, "role": "worker", "at": 1764600000.25, "seq": 17, "in_flight": 8}

(``in_flight``: the requests it has sent and not yet finished, for the live view.)

The run's side reads them twice a second. A process is dead when its PID no longer names it, or when
it missed ``MISSED_BEATS`` beats. Silence is counted on the watcher's own time (:class:`Silence`), never
by comparing a beat's wall-clock ``at`` with the wall clock now: a stepped wall clock (NTP, a VM's clock
resynchronised: seen here, +5 s in one step) or a watcher that was itself starved or paused says
nothing about the load, and must not kill a run. No sample while the beats go on is a measurement (a fault silenced
every stream: throughput 0), never a harness error. On a death: ``load_died`` in the timeline (the
process, why, its last beat), ``stop.json`` (the method ends at once, no new fault goes in), every
fault removed; the measured window ends at the dead process's last beat.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib_ext._processes import ProcessRecord, alive

__all__ = [
    "BEAT_S",
    "HEARTBEATS",
    "MISSED_BEATS",
    "Beat",
    "HeartbeatWriter",
    "LoadHealth",
    "Silence",
    "Verdict",
    "expected_processes",
    "judge",
    "read_beats",
]

log = logging.getLogger("chaoslib_ext.load")

HEARTBEATS = "heartbeats"
BEAT_S = 1.0
MISSED_BEATS = 3
#: how long after the load started every expected process must have beaten once
STARTUP_GRACE_S = 15.0


@dataclass(frozen=True)
class Beat:
    pid: int
    start_ticks: int
    role: str  # local (one process), master, worker, or "remote worker w<N>" (beaten by the master)
    at: float
    seq: int
    error: str | None = None  # a remote worker the master refused (chaoslib_ext.load.remote)
    in_flight: int | None = None  # requests sent and not finished at the beat (None: not said)

    @property
    def name(self) -> str:
        return f"locust {self.role}" + ("" if self.role.startswith("remote") else f" (pid {self.pid})")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Beat:
        error, in_flight = raw.get("error"), raw.get("in_flight")
        return cls(
            int(raw["pid"]), int(raw["start_ticks"]), str(raw["role"]), float(raw["at"]), int(raw["seq"]),
            None if error is None else str(error), None if in_flight is None else int(in_flight),
        )  # fmt: skip


def read_beats(folder: Path) -> list[Beat]:
    """The last beat of every process that ever beat (a torn file is read at the next round)."""
    beats = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            beats.append(Beat.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return beats


def expected_processes(processes: int, workers: int = 0) -> int:
    """One Locust process, or its master and ``processes`` local workers, or its master and ``workers``
    remote ones (their beats written by the master)."""
    if workers:
        return 1 + workers
    return 1 if processes <= 1 else processes + 1


@dataclass(frozen=True)
class Verdict:
    process: str
    error: str
    last_beat_at: float


class Silence:
    """How long each load process has been silent, on the watcher's time: monotonic seconds between its
    rounds, each counted as at most ``max_round_s``, so that a round come late (this process starved, the
    machine paused) is not blamed on the load; a beat's silence runs from the round that first saw it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_round_s: float = BEAT_S) -> None:
        self._clock, self._max_round_s = clock, max_round_s
        self._last: float | None = None
        self._seen: dict[tuple[int, str], tuple[int, float]] = {}  # (pid, role) -> (seq, watched_s at sight)
        self.watched_s = 0.0  # since the first round

    def observe(self, beats: list[Beat]) -> None:
        now = self._clock()
        if self._last is not None:
            self.watched_s += min(max(0.0, now - self._last), self._max_round_s)
        self._last = now
        for beat in beats:
            seen = self._seen.get((beat.pid, beat.role))
            if seen is None or seen[0] != beat.seq:
                self._seen[(beat.pid, beat.role)] = (beat.seq, self.watched_s)

    def of(self, beat: Beat) -> float:
        seen = self._seen.get((beat.pid, beat.role))
        return self.watched_s - seen[1] if seen is not None else 0.0


def judge(beats: list[Beat], expected: int, silence: Silence, is_alive: Callable[[Beat], bool]) -> Verdict | None:
    """Why the load is dead, or None while every process beats (pure: tests give ``silence`` a clock)."""
    for beat in beats:
        if beat.error is not None:
            return Verdict(beat.name, beat.error, beat.at)
        if not is_alive(beat):
            return Verdict(beat.name, "the process is gone", beat.at)
        silent = silence.of(beat)
        if silent > MISSED_BEATS * BEAT_S:
            return Verdict(beat.name, f"no heartbeat for {silent:.1f}s (beats every {BEAT_S:g}s)", beat.at)
    if len(beats) < expected and silence.watched_s > STARTUP_GRACE_S:
        error = f"{len(beats)} of {expected} load processes beat {STARTUP_GRACE_S:g}s after the load started"
        return Verdict("the load", error, max((b.at for b in beats), default=time.time()))
    return None


def _alive(beat: Beat) -> bool:
    return alive(ProcessRecord("locust", beat.pid, beat.start_ticks, (), ""))


class LoadHealth:
    """Watches the beats of a run's load from a thread; ``on_death`` is called once, with the verdict."""

    def __init__(
        self, folder: Path, expected: int, on_death: Callable[[Verdict], None], interval_s: float = 0.5
    ) -> None:
        self._folder = folder
        self._expected = expected
        self._silence = Silence()
        self._on_death = on_death
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaosllm-load-health", daemon=True)
        self.verdict: Verdict | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                beats = read_beats(self._folder)
                self._silence.observe(beats)
                verdict = judge(beats, self._expected, self._silence, _alive)
                if verdict is not None and not self._stop.is_set():
                    self.verdict = verdict
                    self._on_death(verdict)
                    return
            except Exception:  # the watch must never die silently
                log.exception("load health check failed")


class HeartbeatWriter:
    """The Locust side: one beat file per process, rewritten every ``BEAT_S`` (see the locustfile)."""

    def __init__(self, folder: Path, role: str, start_ticks: int, in_flight: Callable[[], int] | None = None) -> None:
        self._folder = folder
        self.role = role
        self._start_ticks = start_ticks
        self._in_flight = in_flight
        self._seq = 0

    def beat(self, name: str | None = None, error: str | None = None) -> None:
        """This process's beat (``name``: in a file of that name, for a remote worker it stands for)."""
        self._folder.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        body: dict[str, Any] = {"pid": pid, "start_ticks": self._start_ticks, "role": self.role, "at": time.time(),
                                "seq": self._seq}  # fmt: skip
        if error is not None:
            body["error"] = error
        if self._in_flight is not None and name is None:
            body["in_flight"] = self._in_flight()
        stem = name or str(pid)
        tmp = self._folder / f".{stem}.tmp"
        tmp.write_text(json.dumps(body))
        os.replace(tmp, self._folder / f"{stem}.json")
        self._seq += 1

    def run(self, sleep: Callable[[float], Any]) -> None:
        while True:
            try:
                self.beat()
            except OSError as exc:  # a full disk must not kill the load; the run side will notice the silence
                log.warning("heartbeat not written: %s", exc)
            sleep(BEAT_S)
