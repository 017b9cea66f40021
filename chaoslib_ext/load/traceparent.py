"""The load's side of a run's traces: which requests carry a W3C ``traceparent`` in the run's trace
(chaoslib_ext.controls.tracing), and the record of those that did, so a slow request of the report can
be found in the server's traces: ``samples/traceparent-<pid>.jsonl``, one line per traced request,
``{"t0": <its start, unix s>, "traceparent": "00-<trace id>-<span id>-01"}``.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import IO

__all__ = ["TraceSampler"]


class TraceSampler:
    def __init__(self, trace_id: str, share: float, folder: Path, rng: random.Random | None = None) -> None:
        self.trace_id, self.share = trace_id, share
        self._path = folder / f"traceparent-{os.getpid()}.jsonl"
        self._rng = rng or random.Random()
        self._out: IO[str] | None = None

    @classmethod
    def from_env(cls, value: str | None, folder: Path) -> TraceSampler | None:
        """``<32 hex digits>:<share>`` (CHAOSLLM_TRACE), or None for no tracing."""
        trace_id, _, share = (value or "").partition(":")
        if len(trace_id) != 32 or not share:
            return None
        return cls(trace_id, float(share), folder)

    def next(self, t0: float) -> str | None:
        """The traceparent of a request starting at ``t0``, for the share of them traced (recorded)."""
        if self._rng.random() >= self.share:
            return None
        value = f"00-{self.trace_id}-{self._rng.getrandbits(64) | 1:016x}-01"
        if self._out is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._out = self._path.open("a", encoding="utf-8")
        self._out.write(json.dumps({"t0": t0, "traceparent": value}) + "\n")
        self._out.flush()
        return value
