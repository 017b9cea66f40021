"""The decoder worker's engine: prefill, then continuous-batching decode steps, one token per sequence."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from chaoslib_ext.sandbox.releases import Release

__all__ = ["Engine", "Job", "TokenEvent"]

_WORDS = (
    "the", "model", "streams", "tokens", "back", "through", "the", "gateway", "while", "the", "cache", "and",
    "the", "queue", "keep", "pace", "with", "every", "request", "it", "serves",
)  # fmt: skip

#: (request id, token text, last token?)
TokenEvent = tuple[str, str, bool]


@dataclass
class Job:
    rid: str
    prompt_tokens: int
    max_tokens: int
    cached: bool
    emitted: int = 0

    def next_token(self) -> TokenEvent:
        self.emitted += 1
        return (self.rid, " " + _WORDS[self.emitted % len(_WORDS)], self.emitted >= self.max_tokens)


class Engine:
    """One release's engine. ``emit`` receives the tokens of each prefill and of each decode step."""

    def __init__(
        self,
        release: Release,
        emit: Callable[[list[TokenEvent]], None],
        rng: random.Random,
    ) -> None:
        self.release = release
        self._emit = emit
        self._rng = rng
        self._waiting: deque[Job] = deque()
        self._prefilling = 0
        self._running: list[Job] = []
        self._wake = asyncio.Event()

    @property
    def load(self) -> int:
        return self._prefilling + len(self._running)

    def submit(self, job: Job) -> None:
        if self.load < self.release.max_num_seqs:
            self._start_prefill(job)
        else:
            self._waiting.append(job)

    def _start_prefill(self, job: Job) -> None:
        self._prefilling += 1
        r = self.release
        ms = r.prefill_ms(job.prompt_tokens, job.cached) + self._rng.uniform(-1, 1) * r.prefill_jitter_ms
        asyncio.get_running_loop().call_later(max(ms, 0.0) / 1000.0, self._prefilled, job)

    def _prefilled(self, job: Job) -> None:
        self._prefilling -= 1
        token = job.next_token()
        self._emit([token])
        if token[2]:
            self._admit_waiting()
        else:
            self._running.append(job)
            self._wake.set()

    def _admit_waiting(self) -> None:
        while self._waiting and self.load < self.release.max_num_seqs:
            self._start_prefill(self._waiting.popleft())

    async def run(self) -> None:
        """Decode forever: a step every ``step_ms(running)``, on an absolute schedule (no drift)."""
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            if not self._running:
                self._wake.clear()
                await self._wake.wait()
                next_t = loop.time()
            r = self.release
            step_ms = r.step_ms(len(self._running)) + self._rng.uniform(-1, 1) * r.step_jitter_ms
            next_t = max(next_t + step_ms / 1000.0, loop.time())
            await asyncio.sleep(next_t - loop.time())
            tokens = [job.next_token() for job in self._running]
            self._running = [job for job, t in zip(self._running, tokens, strict=True) if not t[2]]
            self._emit(tokens)
            self._admit_waiting()
