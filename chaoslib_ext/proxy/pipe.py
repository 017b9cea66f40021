"""One direction of one proxied connection: bytes in, the link's faults applied, bytes out in order."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from chaoslib_ext.proxy.effects import FlowEffects

__all__ = ["Pipe"]

#: Pause reading the source when this many bytes wait for their time, resume below the low mark.
_HIGH_WATER_BYTES = 8 * 1024 * 1024
_LOW_WATER_BYTES = 1024 * 1024
#: A chunk this close to its due time goes out now rather than after one more timer tick (libuv's
#: timers have millisecond resolution): errors centre on zero instead of running late.
_TIMER_SLACK_S = 0.0005
#: A queue entry: (due time, or None while a partition holds it; bytes, or None for end-of-stream).
_Entry = tuple[float | None, bytes | None]


def _now() -> float:
    """Due times use the precise monotonic clock: uvloop's ``loop.time()`` is libuv's cached
    millisecond clock, which made delays late by up to a millisecond or more."""
    return time.monotonic()


class Pipe:
    """Forwards chunks to ``dest`` when the effects allow; never reorders bytes.

    With no fault and nothing queued a chunk is written at once, so an idle link costs nothing.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        effects: Callable[[], FlowEffects],
        on_flow: Callable[[bool], None],
        on_silenced: Callable[[float], None],
    ) -> None:
        self._loop = loop
        self._effects = effects
        self._on_flow = on_flow  # called with False to pause the source, True to resume it
        self._on_silenced = on_silenced  # called once when a timeout fault silences this connection
        self._queue: deque[_Entry] = deque()
        self._queued_bytes = 0
        self._last_due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._dest: asyncio.Transport | None = None
        self._paused_source = False
        self._close_when_drained = False
        self._silent = False
        self.forwarded_bytes = 0

    def attach(self, dest: asyncio.Transport) -> None:
        """Start writing to ``dest``; chunks that arrived before it existed go out first."""
        self._dest = dest
        self._flush()

    def push(self, data: bytes) -> None:
        effects = self._effects()
        if self._silent:
            return
        if effects.idle and not self._queue and self._dest is not None:
            self._write(data)
            return
        if effects.silences():
            self._silent = True
            self._on_silenced(effects.close_after_s)
            return
        if effects.partition:
            self._enqueue(None, data)
            return
        due = max(self._last_due, _now() + effects.delay_s())
        if effects.buckets:
            step = min(b.segment_bytes for b in effects.buckets)
            for i in range(0, len(data), step):
                segment = data[i : i + step]
                seg_due = due
                for bucket in effects.buckets:
                    seg_due = max(seg_due, bucket.reserve(len(segment), due))
                self._enqueue(seg_due, segment)
        else:
            self._enqueue(due, data)

    def _enqueue(self, due: float | None, data: bytes) -> None:
        if due is not None:
            due = max(due, self._last_due)
            self._last_due = due
        self._queue.append((due, data))
        self._queued_bytes += len(data)
        if self._queued_bytes > _HIGH_WATER_BYTES and not self._paused_source:
            self._paused_source = True
            self._on_flow(False)
        self._arm()

    def refresh(self) -> None:
        """The link's faults changed: release what a partition held if none holds it any more, and
        when no bandwidth cap is left, what a removed cap or delay was still pacing goes out no later
        than the delays in force now allow (a removed fault stops acting at once, queued bytes too)."""
        effects = self._effects()
        if effects.partition:
            return
        now = _now()
        floor = None if effects.buckets else now + effects.delay_s()
        released: deque[_Entry] = deque()
        last = now
        for due, data in self._queue:
            if due is None:
                due = max(last, now)
            elif floor is not None:
                due = max(min(due, floor), last)
            last = due
            released.append((due, data))
        self._queue = released
        self._last_due = last if floor is not None else max(self._last_due, last)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flush()

    def push_eof(self) -> None:
        """Half-close ``dest`` once every queued chunk has been written (late under slow_close)."""
        self._later(self._queue_eof)

    def finish(self) -> None:
        """The source is gone: deliver what is queued, then close ``dest`` (late under slow_close)."""
        self._later(self._finish_now)

    def _later(self, action: Callable[[], None]) -> None:
        delay = self._effects().slow_close_s
        if delay > 0:
            self._loop.call_later(delay, action)
        else:
            action()

    def _queue_eof(self) -> None:
        self._queue.append((None if self._queue and self._queue[-1][0] is None else self._last_due, None))
        if self._timer is None:
            self._flush()

    def _finish_now(self) -> None:
        self._close_when_drained = True
        if self._timer is None:
            self._flush()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()

    def _arm(self) -> None:
        if self._timer is None and self._queue and self._dest is not None:
            due = self._queue[0][0]
            if due is not None:
                self._timer = self._loop.call_later(max(0.0, due - _now()), self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._dest is None:
            return
        now = _now() + _TIMER_SLACK_S
        while self._queue and self._queue[0][0] is not None and self._queue[0][0] <= now:
            _, data = self._queue.popleft()
            if data is None:
                if self._dest.can_write_eof() and not self._dest.is_closing():
                    self._dest.write_eof()
                continue
            self._queued_bytes -= len(data)
            self._write(data)
        if self._paused_source and self._queued_bytes < _LOW_WATER_BYTES:
            self._paused_source = False
            self._on_flow(True)
        if self._close_when_drained and not self._queue:
            self._dest.close()
            return
        self._arm()

    def _write(self, data: bytes) -> None:
        assert self._dest is not None
        if not self._dest.is_closing():
            self._dest.write(data)
            self.forwarded_bytes += len(data)
