"""What a run looks like right now, for the game day console, a second screen or a chat bot
(``GET /status`` of the run's control endpoint): the phase, the client's live metrics over a sliding
window, requests in flight, each hypothesis's live value against its bound, the faults in force with
the time they have left, the method's steps, the last seconds as a series and the latest events.

Live values are over the last ``window_s`` seconds (the requests that ended in it), never the final
verdict: a phase is judged at the end on all of its requests. A hypothesis relative to the baseline
is set against the baseline measured on all its requests, once the first fault went in.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import numpy as np

from chaoslib_ext.controls.abort import earlier_abort
from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.faults.lifecycle import CANNOT_EXTEND
from chaoslib_ext.faults.removers import driver_class
from chaoslib_ext.gameday.record import event_text
from chaoslib_ext.load.health import HEARTBEATS, read_beats
from chaoslib_ext.metrics.phase import window_metrics
from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry
from chaoslib_ext.run.timeline import TimelineEvent
from chaoslib_ext.safeguards.live import LiveSamples
from chaoslib_ext.samples import read_samples
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.verdict.spec import Hypothesis

__all__ = ["LIVE_METRICS", "LiveStatus", "phase_now"]

#: what the console shows of the client's side, over the sliding window
LIVE_METRICS = ("ttft_ms.p50", "ttft_ms.p99", "itl_ms.p99", "output_throughput_tps", "error_rate", "requests")
SERIES_S = 120  # seconds of per-second series the console draws
EVENTS = 40  # the latest timeline events in a status


def phase_now(events: list[TimelineEvent], now: float) -> tuple[str, float | None]:
    """(phase, since when): baseline until the first fault went in, fault while one is in, recovery
    after the last came out (since None: the baseline starts when measuring does)."""
    injected: dict[str, float] = {}
    removed: dict[str, float] = {}
    for e in events:
        if e["kind"] == "fault_injected" and e["at"] <= now:
            injected.setdefault(e["fault"], e["at"])
        elif e["kind"] == "fault_removed" and e["at"] <= now:
            removed.setdefault(e["fault"], e["at"])
    if not injected:
        return "baseline", None
    if set(injected) - set(removed):
        return "fault", min(injected.values())
    return "recovery", max(removed.values())


class LiveStatus:
    """One per run, in the run's process; :meth:`snapshot` is computed at most once per ``min_age_s``."""

    def __init__(
        self, run: RunContext, hypotheses: tuple[Hypothesis, ...], gate: Gate | None, window_s: float = 10.0
    ) -> None:
        self.run = run
        self.hypotheses = hypotheses
        self.gate = gate
        self.window_s = window_s
        self._samples = LiveSamples(run.run_dir.samples, keep_s=max(window_s, SERIES_S) + 1.0)
        self._baseline: PhaseMetrics | None = None
        self._lock = threading.Lock()
        self._last: tuple[float, dict[str, Any]] | None = None

    def snapshot(self, now: float | None = None, min_age_s: float = 0.5) -> dict[str, Any]:
        now = time.time() if now is None else now
        with self._lock:
            if self._last is not None and now - self._last[0] < min_age_s:
                return self._last[1]
            status = self._compute(now)
            self._last = (now, status)
            return status

    def _compute(self, now: float) -> dict[str, Any]:
        events = self.run.timeline.events()
        self._samples.refresh(now)
        phase, since = phase_now(events, now)
        if phase != "baseline" and self._baseline is None:
            self._baseline = self._measure_baseline(events)
        measuring = self.run.timeline.measure_window()
        aborted = earlier_abort(self.run)
        return {
            "run_id": self.run.run_dir.run_id,
            "at": now,
            "phase": phase,
            "phase_since": since if since is not None else (measuring[0] if measuring else None),
            "window_s": self.window_s,
            "metrics": {m: self._samples.metric(m, self.window_s, now, since) for m in LIVE_METRICS},
            "in_flight": self._in_flight(),
            "hypotheses": [self._hypothesis(h, phase, since, now) for h in self.hypotheses],
            "faults": [_fault(e, now) for e in self.run.ledger.entries() if e.outstanding],
            "steps": self.gate.to_json() if self.gate is not None else None,
            "series": self._series(now),
            "bands": _bands(events, now),
            "events": [{"at": e["at"], "kind": e["kind"], "text": event_text(e)} for e in events[-EVENTS:]],
            "stopped": self.run.stop_reason() or None,
            "aborted": aborted.to_json() if aborted is not None else None,
        }

    def metrics_at(self, at: float) -> dict[str, float | None]:
        """The live metrics over the window that ended at ``at`` (any phase): what the client saw then."""
        with self._lock:
            self._samples.refresh(time.time())
            return {m: self._samples.metric(m, self.window_s, at) for m in LIVE_METRICS}

    def _in_flight(self) -> int | None:
        counts = [b.in_flight for b in read_beats(self.run.run_dir.load / HEARTBEATS) if b.in_flight is not None]
        return sum(counts) if counts else None

    def _measure_baseline(self, events: list[TimelineEvent]) -> PhaseMetrics | None:
        """The baseline on all its requests (once, when the first fault went in)."""
        first = min((e["at"] for e in events if e["kind"] == "fault_injected"), default=None)
        window = self.run.timeline.measure_window()
        if first is None or window is None or first <= window[0]:
            return None
        table = SampleTable.from_samples(read_samples(self.run.run_dir.samples))
        return window_metrics(table, Window(((window[0], first),)))

    def _hypothesis(self, h: Hypothesis, phase: str, since: float | None, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {"name": h.name, "phase": h.phase, "metric": h.metric, "expect": h.expect.text,
                               "live": None, "bound": None, "ok": None}  # fmt: skip
        if h.recovery is not None or h.phase not in (phase, "overall"):
            return out  # judged at the end (a recovery time), or not its phase now
        value = self._samples.metric(h.metric, self.window_s, now, since if h.phase == phase else None)
        reference = None
        if h.expect.reference is not None:
            if self._baseline is None:
                return {**out, "live": value}
            reference = self._baseline.value(h.metric)
        bound = h.expect.bound(reference)
        ok = None if value is None or bound is None else h.expect.holds(value, bound)
        return {**out, "live": value, "bound": list(bound) if isinstance(bound, tuple) else bound, "ok": ok}

    def _series(self, now: float) -> dict[str, Any]:
        """Per second of the last SERIES_S: TTFT p99 and output tokens/s of the requests that ended in it."""
        ttft: dict[int, list[float]] = defaultdict(list)
        tokens: dict[int, int] = defaultdict(int)
        start = int(now) - SERIES_S
        for s in self._samples.samples():
            second = int(s.t0 + s.done_ms / 1000.0)
            if second < start:
                continue
            tokens[second] += s.tokens
            if s.ttft_ms is not None:
                ttft[second].append(s.ttft_ms)
        seconds = list(range(start, int(now)))
        p99 = [float(np.percentile(ttft[t], 99)) if ttft.get(t) else None for t in seconds]
        return {"start": start, "ttft_p99_ms": p99, "output_tps": [tokens.get(t, 0) for t in seconds]}


def _fault(e: LedgerEntry, now: float) -> dict[str, Any]:
    extendable = getattr(driver_class(e.driver), "extend", None) is not None
    return {"id": e.id, "family": e.family, "target": e.target, "state": e.state, "injected_at": e.injected_at,
            "left_s": None if e.hold_until is None else max(0.0, e.hold_until - now),
            "extend": "in place" if extendable else CANNOT_EXTEND.get(e.driver, "no")}  # fmt: skip


def _bands(events: list[TimelineEvent], now: float) -> list[dict[str, Any]]:
    """Each fault's interval in the series' span (``to`` None: still in force)."""
    start = now - SERIES_S
    injected = {e["fault"]: e["at"] for e in events if e["kind"] == "fault_injected"}
    removed = {e["fault"]: e["at"] for e in events if e["kind"] == "fault_removed"}
    return [
        {"fault": f, "from": at, "to": removed.get(f)}
        for f, at in injected.items()
        if removed.get(f) is None or float(removed[f]) >= start
    ]
