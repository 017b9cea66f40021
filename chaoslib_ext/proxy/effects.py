"""What the faults active on a link do to one direction of one connection, chunk by chunk."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from chaoslib_ext.proxy.faults import Delay, Direction, Loss, ProxyFault

__all__ = ["RTO_S", "Bucket", "ByteCounters", "DelaySampler", "FlowEffects", "LossSampler"]

#: Linux's minimum TCP retransmission timeout: what a lost segment costs before it is sent again.
RTO_S = 0.2
#: Bandwidth-limited bytes are scheduled in segments of at most this many bytes (one Ethernet MSS)...
_SEGMENT_BYTES = 1460
#: ...or as many as the rate sends in this long, whichever is larger, to bound the number of timers.
_SEGMENT_S = 0.01


@dataclass
class ByteCounters:
    """What passed through a byte fault's direction while it was in force: the evidence that it acted."""

    chunks: int = 0
    bytes: int = 0
    connections: int = 0  # connections that carried a byte of it
    #: HTTP links: requests it touched (their head, or their response's bytes, passed while it was in
    #: force), each marked for the client; None on a link whose requests are not told apart
    requests: int | None = None
    seen: set[int] = field(default_factory=set, repr=False)

    def to_json(self) -> dict[str, float]:
        out: dict[str, float] = {"chunks": self.chunks, "bytes": self.bytes, "connections": self.connections}
        return out if self.requests is None else {**out, "requests": self.requests}


class DelaySampler:
    """Draws successive delays in seconds, ``latency ± jitter`` (uniform), correlated as netem does."""

    def __init__(self, delay: Delay, rng: random.Random) -> None:
        self._delay = delay
        self._rng = rng
        self._last = 0.0

    def next_s(self) -> float:
        d = self._delay
        if d.jitter_ms == 0:
            return d.latency_ms / 1000.0
        fresh = self._rng.uniform(-d.jitter_ms, d.jitter_ms)
        self._last = d.correlation * self._last + (1.0 - d.correlation) * fresh
        return max(0.0, d.latency_ms + self._last) / 1000.0


class LossSampler:
    """The retransmission time a chunk pays: RTO, doubling for each retransmission lost again."""

    def __init__(self, loss: Loss, rng: random.Random) -> None:
        self._p = loss.percent / 100.0
        self._corr = loss.correlation
        self._rng = rng
        self._u = rng.random()

    def _lost(self) -> bool:
        self._u = self._corr * self._u + (1.0 - self._corr) * self._rng.random()
        return self._u < self._p

    def next_s(self) -> float:
        penalty, rto = 0.0, RTO_S
        while self._lost() and rto < 60.0:  # a bounded backoff: TCP gives up long before a minute
            penalty += rto
            rto *= 2
        return penalty


class Bucket:
    """A shared transmit schedule at ``rate_bytes_s``: when would these bytes have been sent."""

    def __init__(self, rate_bytes_s: float) -> None:
        self.rate = rate_bytes_s
        self._next_free = 0.0

    @property
    def segment_bytes(self) -> int:
        return max(_SEGMENT_BYTES, int(self.rate * _SEGMENT_S))

    def reserve(self, nbytes: int, earliest: float) -> float:
        """The time the last of ``nbytes`` leaves, sent no earlier than ``earliest``."""
        start = max(self._next_free, earliest)
        self._next_free = start + nbytes / self.rate
        return self._next_free


@dataclass
class FlowEffects:
    """The combined effect of every active fault on one flow (to or from) of one connection."""

    delays: list[DelaySampler]
    losses: list[LossSampler]
    buckets: list[Bucket]
    partition: bool
    timeout_share: float  # probability that a chunk silences its connection
    close_after_s: float  # how long a silenced connection stays open (0: forever)
    slow_close_s: float
    rng: random.Random

    @classmethod
    def build(
        cls,
        faults: Iterable[tuple[str, ProxyFault]],
        flow: Direction,
        buckets: dict[tuple[str, Direction], Bucket],
        rng: random.Random,
    ) -> FlowEffects:
        mine = [(name, f) for name, f in faults if f.direction.covers(flow)]
        keep_going = 1.0
        close_after = 0.0
        for _, f in mine:
            if f.timeout is not None:
                keep_going *= 1.0 - f.timeout.percent / 100.0
                close_after = max(close_after, f.timeout.close_after_ms / 1000.0)
        return cls(
            delays=[DelaySampler(f.delay, rng) for _, f in mine if f.delay is not None],
            losses=[LossSampler(f.loss, rng) for _, f in mine if f.loss is not None],
            buckets=[buckets[(name, flow)] for name, f in mine if f.bandwidth is not None],
            partition=any(f.partition for _, f in mine),
            timeout_share=1.0 - keep_going,
            close_after_s=close_after,
            slow_close_s=sum(f.slow_close.delay_ms for _, f in mine if f.slow_close is not None) / 1000.0,
            rng=rng,
        )

    @property
    def idle(self) -> bool:
        """True when no fault touches this flow: bytes can go straight through."""
        return not (self.delays or self.losses or self.buckets or self.partition or self.timeout_share)

    def silences(self) -> bool:
        return self.timeout_share > 0 and self.rng.random() < self.timeout_share

    def delay_s(self) -> float:
        return sum(d.next_s() for d in self.delays) + sum(loss.next_s() for loss in self.losses)
