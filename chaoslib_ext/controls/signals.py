"""Which signal interrupted a run: recorded by a handler chained in front of Chaos Toolkit's own
(SIGTERM raises its InterruptExecution, SIGINT Python's KeyboardInterrupt), so the outcome can tell
an operator's abort (exit 3) from a run its live check failed fast (exit 1).

The handler only appends to a list (a signal may arrive while the timeline's lock is held); the
control writes the events to the timeline after the method. SIGUSR1 is the abort
(chaoslib_ext.controls.abort): its handler only starts a thread that does it, for the same reason."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["arm", "disarm", "interrupt"]

#: a closed terminal (SIGHUP) is an operator's abort too: the faults come out, rather than a run killed mid-way
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: list[tuple[str, float, str]] = []  # (signal name or reason, unix time, outcome cause)
_previous: dict[int, Any] = {}


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if not (_received and _received[-1][2] == "deadline_exceeded"):  # our own SIGTERM, already recorded
        _received.append((signal.Signals(signum).name, time.time(), "operator_abort"))
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        raise KeyboardInterrupt


def arm(on_abort: Callable[[], None] | None = None) -> None:
    """Chain the recording handler in front of the current ones, and make SIGUSR1 call ``on_abort`` in a
    thread of its own (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or _previous:
        return
    _received.clear()
    for sig in _SIGNALS:
        _previous[sig] = signal.signal(sig, _on_signal)
    if on_abort is not None:
        _previous[signal.SIGUSR1] = signal.signal(
            signal.SIGUSR1, lambda *_: threading.Thread(target=on_abort, name="chaosllm-abort", daemon=True).start()
        )


def interrupt(reason: str, cause: str) -> None:
    """Stop the run from another thread as an operator's SIGTERM would, recording ``reason`` and the
    outcome ``cause`` instead (python activities have no timeout: a signal is the one thing that
    interrupts one)."""
    _received.append((reason, time.time(), cause))
    os.kill(os.getpid(), signal.SIGTERM)


def disarm() -> list[tuple[str, float, str]]:
    """Put the previous handlers back; returns the signals received, as (name, unix time, cause)."""
    if threading.current_thread() is threading.main_thread():
        for sig, handler in _previous.items():
            if sig == signal.SIGUSR1:  # an abort that comes late must not kill the run as SIGUSR1's default would
                signal.signal(sig, signal.SIG_IGN if handler in (signal.SIG_DFL, None) else handler)
            elif signal.getsignal(sig) is _on_signal:
                signal.signal(sig, handler)
    _previous.clear()
    received = list(_received)
    _received.clear()
    return received
