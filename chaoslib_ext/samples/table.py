"""Raw samples as arrays: one row per request in memory; the token events and inter-token gaps
(tens of millions in a long run) computed a chunk of requests at a time, from memory or from disk.

Times are unix seconds (``*_at``) or milliseconds (``*_ms``). Only successful requests contribute
token events and gaps, as in vLLM's ``bench serve``; failures still count in ``error_rate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chaoslib_ext.samples import REQUEST, Sample, read_samples, sample_files
from chaoslib_ext.samples.errors import error_class
from chaoslib_ext.samples.format import upgrade
from chaoslib_ext.samples.reader import error_texts, not_sent_times, schedule_times

__all__ = ["Floats", "GapValues", "Records", "SampleTable", "TokenChunk"]

Floats = npt.NDArray[np.float64]
#: inter-token gaps: float32 as the files hold them, or float64 once computed on
GapValues = npt.NDArray[np.floating[Any]]
#: rows of the structured REQUEST dtype
Records = npt.NDArray[np.void]
Bools = npt.NDArray[np.bool_]
#: requests per token chunk: ~4 MB per token array at 32 tokens a request
CHUNK_REQUESTS = 16_384


@dataclass(frozen=True)
class TokenChunk:
    """The content events of successful requests: each request's first, then each later one (the end
    of a gap). A weight is the tokens an event stands for: tokens / events of its request (1 when they agree)."""

    first_at: Floats  # time of each request's first content event (unix s)
    first_weight: Floats
    gap_ms: GapValues  # each inter-token gap
    gap_end_at: Floats  # time of the later event of each gap (unix s)
    gap_weight: Floats | None  # None: every weight is 1

    @property
    def token_at(self) -> Floats:
        return np.concatenate((self.first_at, self.gap_end_at))


@dataclass(frozen=True)
class _GapSource:
    """Where the gaps of requests [first, end) of the table are: an array, or a writer's .itl file."""

    first: int
    end: int
    gaps: npt.NDArray[np.float32] | None = None
    path: Path | None = None
    offset: int = 0  # in gaps, within path

    def read(self, gap_first: int, count: int) -> GapValues:
        if self.gaps is not None:
            return self.gaps[gap_first : gap_first + count]
        assert self.path is not None
        return np.fromfile(self.path, "<f4", count=count, offset=(self.offset + gap_first) * 4)


@dataclass(frozen=True)
class SampleTable:
    records: Records  # REQUEST rows
    sources: tuple[_GapSource, ...] = field(default=())
    not_sent_at: Floats = field(default_factory=lambda: np.empty(0))  # open loop: arrivals not sent
    scheduled_at: Floats = field(default_factory=lambda: np.empty(0))  # open loop: every arrival's time
    errors: dict[int, str] | None = None  # the failed rows' error texts; None: in the files, read when asked

    @property
    def sched_at(self) -> Floats:  # open loop: when each request was scheduled; NaN in a closed loop
        return self.records["sched_t0"]

    @cached_property
    def open_loop(self) -> bool:
        return bool(np.any(~np.isnan(self.sched_at))) or self.not_sent_at.size > 0

    @property
    def in_tokens(self) -> npt.NDArray[np.int32]:  # prompt tokens the server counted, -1 unknown
        return self.records["in_tokens"]

    @property
    def want_in(self) -> npt.NDArray[np.int32]:  # a workload's requested input tokens, -1 none
        return self.records["want_in"]

    @property
    def want_out(self) -> npt.NDArray[np.int32]:  # a workload's requested output tokens, -1 none
        return self.records["want_out"]

    @cached_property
    def error_classes(self) -> npt.NDArray[np.object_]:
        """Each row's failure class (chaoslib_ext.samples.errors); "" for a successful one."""
        out = np.full(len(self.records), "", dtype=object)
        texts = self.errors if self.errors is not None else self._error_texts()
        status = self.records["status"]
        for i in np.flatnonzero(~self.ok):
            out[i] = error_class(int(status[i]), texts.get(int(i), ""))
        return out

    def _error_texts(self) -> dict[int, str]:
        texts: dict[int, str] = {}
        for source in self.sources:
            if source.path is not None:
                found = error_texts(source.path.with_suffix(""))
                texts.update({source.first + n: text for n, text in found.items()})
        return texts

    @property
    def faults(self) -> npt.NDArray[np.uint32]:  # the HTTP link's faults that touched each request (bitmask)
        return self.records["faults"]

    @property
    def attempt(self) -> npt.NDArray[np.uint16]:  # 0: a first attempt; n: a retry policy's n-th retry
        return self.records["attempt"]

    @property
    def retried(self) -> npt.NDArray[np.bool_]:  # another attempt followed it
        return self.records["retried"].astype(bool)

    @cached_property
    def retries_seen(self) -> bool:
        """The load retried (a retry policy's): read once, for every window measured."""
        return bool(self.records["attempt"].any() or self.records["retried"].any())

    @property
    def first_t0(self) -> Floats:  # the t0 of each request's first attempt (NaN before samples format 6)
        return self.records["first_t0"]

    @property
    def start_at(self) -> Floats:
        return self.records["t0"]

    @cached_property
    def end_at(self) -> Floats:
        return self.records["t0"] + self.records["done_ms"] / 1000.0

    @cached_property
    def ok(self) -> Bools:
        return self.records["ok"].astype(np.bool_)

    @property
    def ttft_ms(self) -> Floats:  # NaN where no content arrived
        return self.records["ttft_ms"]

    @property
    def e2el_ms(self) -> Floats:  # last content event - start; NaN where no content arrived
        return self.records["e2el_ms"]

    @cached_property
    def tokens(self) -> Floats:  # usage.completion_tokens when sent, else content events
        return self.records["tokens"].astype(np.float64)

    @cached_property
    def events(self) -> Floats:
        return self.records["events"].astype(np.float64)

    @property
    def server_ttft_ms(self) -> Floats:  # TTFT the server embedded, NaN when it did not
        return self.records["server_ttft_ms"]

    @cached_property
    def tpot_ms(self) -> Floats:
        """(E2EL - TTFT) / (tokens - 1), NaN for requests with fewer than two tokens."""
        tokens = self.tokens
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tokens > 1, (self.e2el_ms - self.ttft_ms) / (tokens - 1), np.nan)

    @property
    def gap_count(self) -> int:
        """Gaps of successful requests (what :meth:`token_chunks` yields in all)."""
        with_content = self.ok & ~np.isnan(self.ttft_ms)
        return int(self.records["gaps"][with_content].sum(dtype=np.int64))

    def _chunks(self) -> Iterator[tuple[Records, GapValues]]:
        """Every request with its own gaps, a chunk of requests at a time, in record order."""
        for source in self.sources:
            gap_ends = np.cumsum(self.records["gaps"][source.first : source.end], dtype=np.int64)
            for first in range(source.first, source.end, CHUNK_REQUESTS):
                end = min(first + CHUNK_REQUESTS, source.end)
                before = int(gap_ends[first - source.first - 1]) if first > source.first else 0
                yield self.records[first:end], source.read(before, int(gap_ends[end - source.first - 1]) - before)

    def token_chunks(self) -> Iterator[TokenChunk]:
        """Token events and gaps of successful requests, a chunk of requests at a time."""
        for records, gaps in self._chunks():
            yield _tokens(records, gaps)

    def gap_values(self) -> Iterator[GapValues]:
        """The gaps :meth:`token_chunks` yields, in the same order, without computing any time."""
        for records, gaps in self._chunks():
            use = (records["ok"] == 1) & ~np.isnan(records["ttft_ms"])
            yield gaps if use.all() else gaps[np.repeat(use, records["gaps"].astype(np.int64))]

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> SampleTable:
        rows: list[tuple[Any, ...]] = []
        gaps: list[float] = []
        errors: dict[int, str] = {}
        for s in samples:
            if s.error is not None:
                errors[len(rows)] = s.error
            ttft = np.nan if s.ttft_ms is None else s.ttft_ms
            e2el = np.nan if s.ttft_ms is None else s.ttft_ms + float(np.sum(s.itl_ms))
            server = np.nan if s.server_ttft_ms is None else s.server_ttft_ms
            sched = np.nan if s.sched_t0 is None else s.sched_t0
            lengths = tuple(-1 if v is None else v for v in (s.in_tokens, s.want_in, s.want_out))
            rows.append(
                (s.t0, ttft, e2el, s.done_ms, server, s.tokens, s.events, len(s.itl_ms), s.status, s.ok, s.side, sched,
                 *lengths, s.faults, s.attempt, s.retried, b"", s.t0 if s.first_t0 is None else s.first_t0)
            )  # fmt: skip
            gaps.extend(s.itl_ms)
        records = np.array(rows, dtype=REQUEST)
        source = _GapSource(0, len(records), gaps=np.asarray(gaps, dtype=np.float64))
        return cls(records, (source,), errors=errors)

    @classmethod
    def from_directory(cls, directory: Path) -> SampleTable:
        """Every sample of a run's ``samples/``; the gaps stay on disk until a window asks for them."""
        files = sample_files(directory)
        if not files:  # written before the binary format, or no request finished (yet): its schedule still counts
            found = cls.from_samples(read_samples(directory))
            return replace(found, not_sent_at=not_sent_times(directory), scheduled_at=schedule_times(directory))
        parts, sources, first = [], [], 0
        for f in files:
            records = _complete(f.stem, f.dtype)
            parts.append(records)
            sources.append(_GapSource(first, first + len(records), path=f.stem.with_suffix(".itl")))
            first += len(records)
        return cls(np.concatenate(parts), tuple(sources), not_sent_times(directory), schedule_times(directory))


def _complete(stem: Path, dtype: np.dtype[np.void]) -> Records:
    """The records of one writer whose bytes and gaps are all on disk (a killed writer leaves a torn tail)."""
    records = np.fromfile(
        stem.with_suffix(".req"), dtype, count=stem.with_suffix(".req").stat().st_size // dtype.itemsize
    )
    itl = stem.with_suffix(".itl")
    gaps_have = itl.stat().st_size // 4 if itl.exists() else 0
    return upgrade(records[: int((np.cumsum(records["gaps"], dtype=np.int64) <= gaps_have).sum())])


def _tokens(records: Records, gaps: GapValues) -> TokenChunk:
    """Token times and gap end times of ``records`` (successful, with content) from their gaps."""
    counts = records["gaps"].astype(np.int64)
    use = (records["ok"] == 1) & ~np.isnan(records["ttft_ms"])
    t0, ttft = records["t0"], records["ttft_ms"]
    start_at = t0 + ttft / 1000.0  # the first content event; each later one is start_at + the gaps so far
    cum = np.cumsum(gaps, dtype=np.float64)
    before = np.concatenate(([0.0], cum))[np.cumsum(counts) - counts]  # gap ms before each request's own
    gap_end_at = cum / 1000.0 + np.repeat(start_at - before / 1000.0, counts)
    weight = records["tokens"] / (counts + 1.0)  # tokens per recorded content event
    all_used, unit = bool(use.all()), bool((weight == 1.0).all())
    keep = slice(None) if all_used else np.repeat(use, counts)
    gap_weight = None if unit and all_used else np.repeat(weight, counts)[keep]
    return TokenChunk(start_at[use], weight[use], gaps[keep], gap_end_at[keep], gap_weight)
