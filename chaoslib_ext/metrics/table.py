"""Raw samples as arrays: one row per request, one row per content event, one per inter-token gap.

Times are unix seconds (``*_at``) or milliseconds (``*_ms``). Only successful requests contribute
token events and gaps, as in vLLM's ``bench serve``; failures still count in ``error_rate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaoslib_ext.load.samples import Sample

__all__ = ["SampleTable"]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SampleTable:
    start_at: Floats  # request start (unix s)
    end_at: Floats  # response end, success or failure (unix s)
    ok: Bools
    ttft_ms: Floats  # NaN where no content arrived
    e2el_ms: Floats  # last content event - start; NaN where no content arrived
    tokens: Floats  # usage.completion_tokens when sent, else content events
    events: Floats  # content events
    token_at: Floats  # time of each content event of a successful request (unix s)
    token_weight: Floats  # tokens it stands for: tokens / events of its request (1 when they agree)
    gap_ms: Floats  # each inter-token gap of a successful request
    gap_end_at: Floats  # time of the later event of each gap (unix s)
    server_ttft_ms: Floats  # TTFT the server embedded, NaN when it did not

    @property
    def tpot_ms(self) -> Floats:
        """(E2EL - TTFT) / (tokens - 1), NaN for requests with fewer than two tokens."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.tokens > 1, (self.e2el_ms - self.ttft_ms) / (self.tokens - 1), np.nan)

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> SampleTable:
        start, end, ok, ttft, e2el, tokens, events, server = [], [], [], [], [], [], [], []
        token_at: list[float] = []
        token_weight: list[float] = []
        gap_ms: list[float] = []
        gap_end: list[float] = []
        for s in samples:
            start.append(s.t0)
            end.append(s.t0 + s.done_ms / 1000.0)
            ok.append(s.ok)
            tokens.append(float(s.tokens))
            events.append(float(s.events))
            server.append(np.nan if s.server_ttft_ms is None else s.server_ttft_ms)
            if s.ttft_ms is None:
                ttft.append(np.nan)
                e2el.append(np.nan)
                continue
            offsets = np.concatenate(([s.ttft_ms], s.ttft_ms + np.cumsum(s.itl_ms)))
            ttft.append(s.ttft_ms)
            e2el.append(float(offsets[-1]))
            if s.ok:
                at = s.t0 + offsets / 1000.0
                token_at.extend(at)
                token_weight.extend([s.tokens / len(at)] * len(at))
                gap_ms.extend(s.itl_ms)
                gap_end.extend(at[1:])
        f = np.asarray
        return cls(
            start_at=f(start, dtype=np.float64),
            end_at=f(end, dtype=np.float64),
            ok=f(ok, dtype=np.bool_),
            ttft_ms=f(ttft, dtype=np.float64),
            e2el_ms=f(e2el, dtype=np.float64),
            tokens=f(tokens, dtype=np.float64),
            events=f(events, dtype=np.float64),
            token_at=f(token_at, dtype=np.float64),
            token_weight=f(token_weight, dtype=np.float64),
            gap_ms=f(gap_ms, dtype=np.float64),
            gap_end_at=f(gap_end, dtype=np.float64),
            server_ttft_ms=f(server, dtype=np.float64),
        )
