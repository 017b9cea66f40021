"""Open-loop arrivals: requests sent on a schedule fixed in advance, whatever the server does.

A closed loop (``users``) sends the next request when the last one is done: when a fault slows the
server, the offered load drops with it and the fault looks milder than it is (coordinated omission).
An open loop (``rate``) sends at the scheduled times; a stall shows as latency measured from the
*scheduled* time (``ttft_sched_ms``) and as send lag, never as requests quietly not sent.

    rate: 50              # requests/s (a shape shapes requests/s instead of users)
    arrival: poisson      # poisson | gamma | constant (vLLM ``bench serve``'s --request-rate)
    burstiness: 0.5       # gamma's shape: 1 is Poisson, below 1 burstier, above 1 more regular
    max_concurrency: 64   # requests in flight at most; an arrival finding it full is counted, not sent
    seed: 7               # the same seed, the same schedule

The schedule is one sequence for the whole run, drawn once from the seed: gaps of mean 1 in
"operational time" (the integral of the rate over time), mapped back to clock time, so a ramp or a
step of the rate keeps the arrival process's character. Load process ``k`` of ``n`` sends arrivals
``k, k + n, k + 2n, ...``: the union is the same schedule whatever ``n``. ``max_concurrency`` is split
between the processes (each holds its share; the sum is the cap).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from chaoslib_ext.load.profile import Shape

__all__ = [
    "ARRIVALS",
    "LEAD_S",
    "SPIN_S",
    "ArrivalKind",
    "Arrivals",
    "Dispatcher",
    "concurrency_share",
    "process_share",
    "wait_until",
]

ArrivalKind = Literal["poisson", "gamma", "constant"]
ARRIVALS: tuple[ArrivalKind, ...] = get_args(ArrivalKind)
#: the last stretch before a send is waited by yielding, not by a timer: an event loop's timer wakes up
#: to 1 ms late (epoll's timeout is in milliseconds), which would bunch sends on a millisecond grid
SPIN_S = 0.0012
#: a request is started this long before it is due: it builds its body, then waits the rest itself
LEAD_S = 0.003

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Arrivals:
    """The arrival process of an open-loop load."""

    rate_rps: float
    kind: ArrivalKind = "poisson"
    burstiness: float = 1.0
    seed: int = 0
    max_concurrency: int | None = None

    def _gaps(self, rng: np.random.Generator, n: int) -> Floats:
        """``n`` gaps of mean 1 (in operational time)."""
        if self.kind == "constant":
            return np.ones(n)
        if self.kind == "gamma":
            return rng.gamma(self.burstiness, 1.0 / self.burstiness, n)
        return rng.exponential(1.0, n)

    def schedule(self, shape: Shape, duration_s: float) -> Floats:
        """Send times of every request in ``[0, duration_s)``, seconds from the schedule's start."""
        grid, operational = self._operational_time(shape, duration_s)
        total = float(operational[-1])
        rng = np.random.default_rng(self.seed)
        draws = [np.zeros(1)]  # the first request goes at the start
        have = 0.0
        while have < total:
            chunk = self._gaps(rng, max(16, int(total - have + 4 * math.sqrt(total - have + 1) + 16)))
            draws.append(chunk)
            have += float(chunk.sum())
        at = np.cumsum(np.concatenate(draws))
        return np.interp(at[at < total], operational, grid)

    def _operational_time(self, shape: Shape, duration_s: float) -> tuple[Floats, Floats]:
        """(the shape's knots, the integral of the rate up to each): exact from the rate at the
        midpoints, as the rate is constant (or, on a ramp, linear) between knots."""
        knots = np.array([0.0, *shape.knots(duration_s, self.rate_rps), duration_s])
        grid = np.unique(np.clip(knots, 0.0, duration_s))
        mids = (grid[:-1] + grid[1:]) / 2.0
        rates = np.array([shape.level_at(float(t), self.rate_rps) for t in mids])
        return grid, np.concatenate(([0.0], np.cumsum(rates * np.diff(grid))))


def wait_until(due: float, clock: Callable[[], float], sleep: Callable[[float], None], spin_s: float) -> None:
    """Sleep until ``due``: by the timer until ``spin_s`` before it, then by yielding (``sleep(0)``:
    requests in flight are read meanwhile) so the send is not rounded to the timer's millisecond."""
    left = due - clock()
    if left > spin_s:
        sleep(left - spin_s)
    while clock() < due:
        sleep(0)


def process_share(schedule: Floats, index: int, processes: int) -> Floats:
    """The arrivals load process ``index`` of ``processes`` sends."""
    return schedule[index::processes]


def concurrency_share(cap: int | None, index: int, processes: int) -> int | None:
    """Process ``index``'s share of a global cap (the shares add up to the cap)."""
    if cap is None:
        return None
    return cap // processes + (1 if index < cap % processes else 0)


class Dispatcher:
    """Sends one process's arrivals on time: sleeps until each one is due, then starts it, unless
    ``cap`` requests are already in flight (then it is counted as not sent, with its scheduled time).

    Time and concurrency are injected (``clock``, ``sleep``, ``start``) so the logic is tested with a
    fake clock; the locustfile passes ``time.time``, ``gevent.sleep`` and a greenlet spawn. With
    ``lead_s``, each request is started that long before it is due (it waits the rest itself, with
    :func:`wait_until`, after building its body)."""

    def __init__(
        self,
        due: Floats,
        cap: int | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        start: Callable[[float, Callable[[], None]], None],
        not_sent: Callable[[float], None],
        lead_s: float = 0.0,
    ) -> None:
        self._lead_s = lead_s
        self._due = due
        self._cap = cap
        self._clock = clock
        self._sleep = sleep
        self._start = start
        self._not_sent = not_sent
        self.in_flight = 0
        self.sent = 0
        self.refused = 0

    def _done(self) -> None:
        self.in_flight -= 1

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Dispatch every arrival (absolute unix times) in order; ``stop()`` ends it early."""
        for due in self._due:
            wait = float(due) - self._lead_s - self._clock()
            if wait > 0:
                self._sleep(wait)
            if stop():
                return
            if self._cap is not None and self.in_flight >= self._cap:
                self.refused += 1
                self._not_sent(float(due))
                continue
            self.in_flight += 1
            self.sent += 1
            self._start(float(due), self._done)
