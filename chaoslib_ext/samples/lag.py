"""The load client's own lag: how late its event loop runs a timer, 50 times a second, in every process.

A load process whose loop is busy (too many streams for one core) or not scheduled (host steal, a
shared core) reads each token late, and every TTFT and gap it records is the client's, not the
server's. It cannot see that in its samples; it can see it in a timer. Each Locust process asks its
hub to wake it every ``1 / PROBE_HZ`` s and records how late the wake came; once a second it appends
one line per process to ``samples/lag.jsonl``::

    {"at": 1763862000.0, "s": 1.0, "pid": 4242, "cpu": 0.31, "lag_ms": [0.04, 0.06, 2.91, ...]}

(the interval ``[at - s, at]``; ``cpu``: the process's CPU time in it over ``s``, a share of one
core; ``lag_ms``: every reading in it, in order). A line is one ``write`` of well under
``PIPE_BUF`` to a file opened for appending, so the lines of several processes never interleave.
The verdict stage judges each phase's measurability from these lines and the host's steal
(:mod:`chaoslib_ext.metrics.validity`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LAG_FILE", "PROBE_HZ", "LagProbe", "LagSeries", "read_lag"]

LAG_FILE = "lag.jsonl"
#: how often each load process asks to be woken (the issue's floor is 50 Hz)
PROBE_HZ = 50


class LagProbe:
    """Measures how late ``sleep`` returns, and writes a line of readings every ``every_s``.

    The clocks are parameters so the timing logic is tested with a fake clock: ``clock`` (monotonic,
    for the lateness), ``wall`` (unix seconds, for the line's ``at``) and ``cpu`` (this process's CPU
    seconds)."""

    def __init__(
        self,
        directory: Path,
        *,
        interval_s: float = 1.0 / PROBE_HZ,
        every_s: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
        wall: Callable[[], float] = time.time,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._path = directory / LAG_FILE
        self._interval_s = interval_s
        self._every_s = every_s
        self._clock, self._wall, self._cpu = clock, wall, cpu
        self._lags: list[float] = []
        self._line_at = wall()
        self._line_cpu = cpu()

    def run(self, sleep: Callable[[float], Any], readings: int | None = None) -> None:
        """Sleep, measure, repeat: for ever (a greenlet), or ``readings`` times (tests)."""
        done = 0
        due = self._clock() + self._interval_s
        while readings is None or done < readings:
            sleep(max(0.0, due - self._clock()))
            now = self._clock()
            self._lags.append(max(0.0, now - due) * 1000.0)
            due = now + self._interval_s  # each reading is one wake's lateness, not a backlog's
            done += 1
            if self._wall() - self._line_at >= self._every_s:
                self.write_line()

    def write_line(self) -> dict[str, Any] | None:
        """Append the readings since the last line (none: nothing written); the line written."""
        at, cpu = self._wall(), self._cpu()
        if not self._lags:
            return None
        s = at - self._line_at
        line = {
            "at": round(at, 4),
            "s": round(s, 4),
            "pid": os.getpid(),
            "cpu": round((cpu - self._line_cpu) / s, 4) if s > 0 else 0.0,
            "lag_ms": [round(v, 3) for v in self._lags],
        }
        with self._path.open("a") as f:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._lags = []
        self._line_at, self._line_cpu = at, cpu
        return line


@dataclass(frozen=True)
class LagSeries:
    """A run's lag lines: per line its interval, process, CPU share and readings' p99, and every reading
    with the line it belongs to (``owner``)."""

    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    pid: npt.NDArray[np.int64]
    cpu: npt.NDArray[np.float64]
    p99: npt.NDArray[np.float64]
    lag_ms: npt.NDArray[np.float64]
    owner: npt.NDArray[np.int64]

    def during(self, intervals: tuple[tuple[float, float], ...]) -> LagSeries:
        """The lines whose interval ends inside one of ``intervals`` (absolute ``[start, end)``)."""
        keep = np.zeros(self.end.shape, dtype=np.bool_)
        for a, b in intervals:
            keep |= (self.end > a) & (self.end <= b)
        renumber = np.cumsum(keep) - 1
        mine = keep[self.owner]
        return LagSeries(
            self.start[keep],
            self.end[keep],
            self.pid[keep],
            self.cpu[keep],
            self.p99[keep],
            self.lag_ms[mine],
            renumber[self.owner[mine]],
        )

    def lagged(self, max_lag_ms: float) -> list[tuple[float, float]]:
        """The intervals of the lines (any process) whose readings' p99 exceeded ``max_lag_ms``."""
        hit = self.p99 > max_lag_ms
        return [(float(a), float(b)) for a, b in zip(self.start[hit], self.end[hit], strict=True)]

    def busiest_cpu(self) -> float | None:
        """The mean CPU share of the busiest process, over its lines; None without lines."""
        if not self.pid.size:
            return None
        return max(float(self.cpu[self.pid == p].mean()) for p in np.unique(self.pid))


def read_lag(directory: Path) -> LagSeries | None:
    """The lines of ``<directory>/lag.jsonl`` (a torn or malformed line is skipped); None without the file."""
    path = directory / LAG_FILE
    if not path.exists():
        return None
    start: list[float] = []
    end: list[float] = []
    pid: list[int] = []
    cpu: list[float] = []
    p99: list[float] = []
    values: list[float] = []
    owner: list[int] = []
    for line in path.read_text().splitlines():
        try:
            raw = json.loads(line)
            lags = [float(v) for v in raw["lag_ms"]]
            row = (float(raw["at"]) - float(raw["s"]), float(raw["at"]), int(raw["pid"]), float(raw["cpu"]))
        except (ValueError, KeyError, TypeError):
            continue
        if not lags:
            continue
        owner += [len(start)] * len(lags)
        start.append(row[0])
        end.append(row[1])
        pid.append(row[2])
        cpu.append(row[3])
        p99.append(float(np.percentile(lags, 99)))
        values += lags
    f64 = np.float64
    return LagSeries(
        np.array(start, f64),
        np.array(end, f64),
        np.array(pid, np.int64),
        np.array(cpu, f64),
        np.array(p99, f64),
        np.array(values, f64),
        np.array(owner, np.int64),
    )
