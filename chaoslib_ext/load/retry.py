"""The load client's retry policy (``load.retry``): off by default, so the load measures what a client
that never retries sees. On, a failed attempt whose status (or error class) is listed is sent again,
as many OpenAI clients do, so a 429 burst can show the retry storm it causes:

load:
  retry:
    on: [429, 503]        # statuses, and/or the error classes connect, reset, timeout (default: 429, 503)
    attempts: 3           # the most attempts of one request, the first included (2..20, default 3)
    backoff: 200ms        # the wait before retry n is up to backoff x 2^(n-1) (full jitter: a uniform draw)
    max_backoff: 10s      # no wait is longer, Retry-After included
    retry_after: true     # a listed status's Retry-After (seconds or an HTTP date) is the wait instead
    seed: 0               # the jitter's draws

Each attempt is its own sample (``attempt`` 0 is the first; ``retried`` says another followed it), so
the window's metrics see every request the server saw; ``retries.*`` counts the retries apart
(chaoslib_ext.metrics.record).
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["RETRY_CLASSES", "RetryPolicy", "retry_after_s"]

#: the error classes (chaoslib_ext.samples.errors) a policy may retry besides statuses: nothing was
#: answered, so a retry is what a client would do
RETRY_CLASSES = ("connect", "reset", "timeout")
_FIELDS = ("on", "attempts", "backoff", "max_backoff", "retry_after", "seed")


@dataclass(frozen=True)
class RetryPolicy:
    statuses: frozenset[int] = frozenset({429, 503})
    classes: frozenset[str] = frozenset()
    attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 10.0
    retry_after: bool = True
    seed: int = 0

    @classmethod
    def parse(cls, raw: object, where: str = "retry") -> RetryPolicy:
        f = Fields(raw, _FIELDS, where)
        statuses, classes = _on(f.sequence("on", [429, 503]), f"{where}.on")
        policy = cls(
            statuses=statuses,
            classes=classes,
            attempts=f.integer("attempts", 3, minimum=2, maximum=20),
            backoff_s=f.duration("backoff", 0.2),
            max_backoff_s=f.duration("max_backoff", 10.0, positive=True),
            retry_after=f.boolean("retry_after", True),
            seed=f.integer("seed", 0),
        )
        if policy.backoff_s > policy.max_backoff_s:
            raise SpecError(f"{where}.backoff", f"{policy.backoff_s:g}s exceeds max_backoff", "at most max_backoff")
        return policy

    def to_json(self) -> dict[str, Any]:
        return {
            "on": [*sorted(self.statuses), *sorted(self.classes)],
            "attempts": self.attempts,
            "backoff": f"{self.backoff_s}s",
            "max_backoff": f"{self.max_backoff_s}s",
            "retry_after": self.retry_after,
            "seed": self.seed,
        }

    def retries(self, attempt: int, status: int, error_class: str | None) -> bool:
        """Whether attempt ``attempt`` (0 the first) that failed so is followed by another."""
        if attempt + 1 >= self.attempts:
            return False
        return status in self.statuses if status else error_class in self.classes

    def wait_s(self, attempt: int, status: int, retry_after: str | None, rng: random.Random, now: float) -> float:
        """The wait before the attempt after ``attempt``: the answer's Retry-After when honoured, else the
        backoff with full jitter; never above max_backoff."""
        if self.retry_after and status and retry_after:
            told = retry_after_s(retry_after, now)
            if told is not None:
                return min(told, self.max_backoff_s)
        return rng.uniform(0.0, min(self.max_backoff_s, self.backoff_s * 2.0**attempt))


def retry_after_s(value: str, now: float) -> float | None:
    """A Retry-After header as seconds from ``now``: delta-seconds (RFC 9110; a fraction accepted) or an
    HTTP date; None for what is neither."""
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _on(values: list[Any], where: str) -> tuple[frozenset[int], frozenset[str]]:
    accepted = "HTTP statuses 400..599, " + ", ".join(RETRY_CLASSES)
    statuses, classes = set(), set()
    for i, v in enumerate(values):
        if isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599:
            statuses.add(v)
        elif isinstance(v, str) and v in RETRY_CLASSES:
            classes.add(v)
        else:
            raise SpecError(f"{where}[{i}]", f"cannot retry on {v!r}", accepted)
    if not statuses and not classes:
        raise SpecError(where, "retries on nothing", accepted)
    return frozenset(statuses), frozenset(classes)
