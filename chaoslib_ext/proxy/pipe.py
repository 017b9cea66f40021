"""One direction of one proxied connection: bytes in, the link's faults applied, bytes out in order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

__all__ = ["Pipe"]

#: Pause reading the source when this many bytes wait for their delay, resume below the low mark.
_HIGH_WATER_BYTES = 8 * 1024 * 1024
_LOW_WATER_BYTES = 1024 * 1024
#: The event loop's clock may run a hair behind a timer's deadline when it fires.
_TIMER_SLACK_S = 0.0005


class Pipe:
    """Forwards chunks to ``dest`` after the delay ``delay_s()`` gives for each; never reorders bytes.

    With no delay and nothing queued a chunk is written at once, so an idle fault costs nothing.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        delay_s: Callable[[], float],
        on_flow: Callable[[bool], None],
    ) -> None:
        self._loop = loop
        self._delay_s = delay_s
        self._on_flow = on_flow  # called with False to pause the source, True to resume it
        self._queue: deque[tuple[float, bytes | None]] = deque()
        self._queued_bytes = 0
        self._last_due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._dest: asyncio.Transport | None = None
        self._paused_source = False
        self._close_when_drained = False
        self.forwarded_bytes = 0

    def attach(self, dest: asyncio.Transport) -> None:
        """Start writing to ``dest``; chunks that arrived before it existed go out first."""
        self._dest = dest
        self._flush()

    def push(self, data: bytes) -> None:
        delay = self._delay_s()
        if delay <= 0.0 and not self._queue and self._dest is not None:
            self._write(data)
            return
        due = max(self._last_due, self._loop.time() + delay)
        self._last_due = due
        self._queue.append((due, data))
        self._queued_bytes += len(data)
        if self._queued_bytes > _HIGH_WATER_BYTES and not self._paused_source:
            self._paused_source = True
            self._on_flow(False)
        self._arm()

    def push_eof(self) -> None:
        """Half-close ``dest`` once every queued chunk has been written."""
        self._queue.append((self._last_due, None))
        if self._timer is None:
            self._flush()

    def finish(self) -> None:
        """The source is gone: deliver what is queued, then close ``dest``."""
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
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        if self._dest is None:
            return
        now = self._loop.time() + _TIMER_SLACK_S
        while self._queue and self._queue[0][0] <= now:
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
