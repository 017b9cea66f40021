"""The load generator's own CPU, once a second: how busy its host was and how much the hypervisor stole.

A client that is not scheduled cannot timestamp a token: on a virtual machine, seconds in which the
hypervisor runs someone else while this machine wants its CPU (*steal*) show up as TTFT and
inter-token stalls of every request in flight, whatever the server did. Measured on the 2-core VM
this was built on: 20-55 % steal for 10-30 s at a time, TTFT P99 of both releases of a comparison
1.5-2x their usual. The Locust process appends one line per second to ``samples/host.jsonl``::

    {"at": 1763862000.0, "s": 1.0, "busy": 0.83, "steal": 0.12}

(the interval ``[at - s, at]``; ``busy`` and ``steal`` are shares of all the host's CPU time in it,
from ``/proc/stat``). The report shows them per phase; ``chaosllm compare`` leaves out the requests
in flight during a *starved* second (steal at or above ``--max-steal``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

__all__ = [
    "HOST_FILE",
    "STARVED_STEAL",
    "CpuTimes",
    "HostCpu",
    "HostCpuJson",
    "HostRecorder",
    "HostSeries",
    "read_cpu",
    "read_host",
]

HOST_FILE = "host.jsonl"
#: a second in which the hypervisor took this much of the host's CPU measured the host, not the target
STARVED_STEAL = 0.20
_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative CPU time of all cores, in clock ticks."""

    total: int
    idle: int  # idle + iowait
    steal: int

    @classmethod
    def parse(cls, line: str) -> CpuTimes:
        """From the ``cpu`` line of /proc/stat: user nice system idle iowait irq softirq steal [guest ...]
        (guest time is already counted in user and nice)."""
        ticks = [int(v) for v in line.split()[1:9]]
        ticks += [0] * (8 - len(ticks))
        return cls(sum(ticks), ticks[3] + ticks[4], ticks[7])

    def shares_since(self, before: CpuTimes) -> tuple[float, float]:
        """(busy, steal) as shares of the CPU time between ``before`` and this reading."""
        total = self.total - before.total
        if total <= 0:
            return 0.0, 0.0
        steal = (self.steal - before.steal) / total
        return max(0.0, 1.0 - (self.idle - before.idle) / total - steal), steal


def read_cpu(path: Path = _STAT) -> CpuTimes | None:
    """The host's CPU times now; None where there is no /proc/stat."""
    try:
        with path.open() as f:
            return CpuTimes.parse(f.readline())
    except (OSError, ValueError, IndexError):
        return None


class HostRecorder:
    """Appends one line per :meth:`tick` to ``<directory>/host.jsonl`` with the shares since the last."""

    def __init__(self, directory: Path, read: Callable[[], CpuTimes | None] = read_cpu) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._path = directory / HOST_FILE
        self._read = read
        self._last = read()
        self._last_at = time.time()

    @property
    def available(self) -> bool:
        return self._last is not None

    def tick(self) -> dict[str, float] | None:
        now, at = self._read(), time.time()
        if now is None or self._last is None:
            return None
        busy, steal = now.shares_since(self._last)
        line = {"at": round(at, 3), "s": round(at - self._last_at, 3), "busy": round(busy, 4), "steal": round(steal, 4)}
        self._last, self._last_at = now, at
        with self._path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        return line

    def run(self, sleep: Callable[[float], Any], interval_s: float = 1.0) -> None:
        """Tick every ``interval_s`` for ever (a greenlet or daemon thread; ``sleep`` is its sleep)."""
        while True:
            sleep(interval_s)
            self.tick()


class HostCpuJson(TypedDict):
    seconds: float
    busy_mean: float
    steal_mean: float
    steal_max: float
    starved_seconds: float


@dataclass(frozen=True)
class HostCpu:
    """The load host's CPU over a phase: seconds covered, mean busy and steal shares, the worst
    second's steal, and the seconds starved (steal at or above the limit)."""

    seconds: float
    busy_mean: float
    steal_mean: float
    steal_max: float
    starved_seconds: float

    def to_json(self) -> HostCpuJson:
        return {
            "seconds": self.seconds,
            "busy_mean": self.busy_mean,
            "steal_mean": self.steal_mean,
            "steal_max": self.steal_max,
            "starved_seconds": self.starved_seconds,
        }

    @classmethod
    def from_json(cls, raw: HostCpuJson) -> HostCpu:
        return cls(raw["seconds"], raw["busy_mean"], raw["steal_mean"], raw["steal_max"], raw["starved_seconds"])


@dataclass(frozen=True)
class HostSeries:
    """The intervals ``[start, end]`` of a run's host readings and their busy and steal shares."""

    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    busy: npt.NDArray[np.float64]
    steal: npt.NDArray[np.float64]

    def starved(self, max_steal: float = STARVED_STEAL) -> list[tuple[float, float]]:
        """The intervals whose steal reached ``max_steal`` (absolute times)."""
        hit = self.steal >= max_steal
        return [(float(a), float(b)) for a, b in zip(self.start[hit], self.end[hit], strict=True)]

    def during(self, intervals: tuple[tuple[float, float], ...]) -> HostSeries:
        """The readings whose interval ends inside one of ``intervals`` (absolute ``[start, end)``)."""
        keep = np.zeros(self.end.shape, dtype=np.bool_)
        for a, b in intervals:
            keep |= (self.end > a) & (self.end <= b)
        return HostSeries(self.start[keep], self.end[keep], self.busy[keep], self.steal[keep])

    def summary(self, max_steal: float = STARVED_STEAL) -> HostCpu | None:
        """The readings summed up (:class:`HostCpu`); None if there are none."""
        seconds = self.end - self.start
        total = float(seconds.sum())
        if total <= 0:
            return None
        return HostCpu(
            seconds=round(total, 1),
            busy_mean=round(float(np.average(self.busy, weights=seconds)), 4),
            steal_mean=round(float(np.average(self.steal, weights=seconds)), 4),
            steal_max=round(float(self.steal.max()), 4),
            starved_seconds=round(float(seconds[self.steal >= max_steal].sum()), 1),
        )


def read_host(directory: Path) -> HostSeries | None:
    """The readings in ``<directory>/host.jsonl`` (a torn last line is skipped); None without the file."""
    path = directory / HOST_FILE
    if not path.exists():
        return None
    rows = []
    for line in path.read_text().splitlines():
        try:
            raw = json.loads(line)
            rows.append((float(raw["at"]) - float(raw["s"]), float(raw["at"]), float(raw["busy"]), float(raw["steal"])))
        except (ValueError, KeyError, TypeError):
            continue
    data = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return HostSeries(data[:, 0], data[:, 1], data[:, 2], data[:, 3])
