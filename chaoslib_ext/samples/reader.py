"""The readers of the samples format (:mod:`chaoslib_ext.samples.format`): every version up to this one."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from chaoslib_ext.samples.format import REQUEST, Sample, _count, _none, check_format, record_dtype, upgrade

__all__ = [
    "SCHEDULE_FILE",
    "SampleFile",
    "error_texts",
    "not_sent_times",
    "read_samples",
    "sample_files",
    "schedule_times",
    "to_samples",
]


@dataclass
class SampleFile:
    """One writer's files, read from where the last read stopped (records and gaps kept in step)."""

    stem: Path
    records_read: int = 0
    gaps_read: int = 0
    dtype: np.dtype[np.void] = REQUEST  # the record of the directory's format version

    def read_new(self) -> tuple[npt.NDArray[Any], npt.NDArray[np.float32], dict[int, str]]:
        """Complete records after the last read, their gaps, and the errors of the failed ones (by index)."""
        size = self.dtype.itemsize
        count = _size(self.stem.with_suffix(".req")) // size - self.records_read
        records = np.fromfile(
            self.stem.with_suffix(".req"), self.dtype, count=max(count, 0), offset=self.records_read * size
        )
        gaps_have = _size(self.stem.with_suffix(".itl")) // 4 - self.gaps_read
        complete = np.cumsum(records["gaps"], dtype=np.int64) <= gaps_have
        records = records[: int(complete.sum())]  # a record whose gaps are not all written yet waits
        n_gaps = int(records["gaps"].sum(dtype=np.int64))
        gaps = (
            np.fromfile(self.stem.with_suffix(".itl"), "<f4", count=n_gaps, offset=self.gaps_read * 4)
            if n_gaps
            else np.empty(0, "<f4")
        )
        errors = self._errors(self.records_read, self.records_read + len(records)) if len(records) else {}
        self.records_read += len(records)
        self.gaps_read += n_gaps
        return upgrade(records), gaps, errors

    def _errors(self, first: int, end: int) -> dict[int, str]:
        return error_texts(self.stem, first, end)


def error_texts(stem: Path, first: int = 0, end: int | None = None) -> dict[int, str]:
    """The error texts of one writer's failed records ``first`` to ``end``, by index from ``first``."""
    path = Path(f"{stem}.err.jsonl")
    out: dict[int, str] = {}
    if not path.exists():
        return out
    with path.open("rb") as src:
        for line in src:
            try:
                raw = json.loads(line)
                if first <= raw["n"] and (end is None or raw["n"] < end):
                    out[int(raw["n"]) - first] = str(raw["error"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def sample_files(directory: Path) -> list[SampleFile]:
    """The binary files of every writer in ``directory``; SamplesFormatError for a newer format."""
    if not directory.exists():
        return []
    dtype = record_dtype(check_format(directory))
    return [SampleFile(p.with_suffix(""), dtype=dtype) for p in sorted(directory.glob("*.req"))]


def to_samples(records: npt.NDArray[Any], gaps: npt.NDArray[np.float32], errors: dict[int, str]) -> list[Sample]:
    ends = np.cumsum(records["gaps"], dtype=np.int64)
    names = set(records.dtype.names or ())
    out = []
    for i, r in enumerate(records):
        own = gaps[ends[i] - r["gaps"] : ends[i]]
        out.append(
            Sample(
                t0=float(r["t0"]),
                ttft_ms=_none(r["ttft_ms"]),
                itl_ms=tuple(float(x) for x in own),
                tokens=int(r["tokens"]),
                events=int(r["events"]),
                status=int(r["status"]),
                error=None if r["ok"] else errors.get(i, "failed"),
                done_ms=float(r["done_ms"]),
                server_ttft_ms=_none(r["server_ttft_ms"]),
                side=int(r["side"]),
                sched_t0=_none(r["sched_t0"]) if "sched_t0" in names else None,
                in_tokens=_count(r["in_tokens"]) if "in_tokens" in names else None,
                want_in=_count(r["want_in"]) if "want_in" in names else None,
                want_out=_count(r["want_out"]) if "want_out" in names else None,
                faults=int(r["faults"]) if "faults" in names else 0,
                attempt=int(r["attempt"]) if "attempt" in names else 0,
                retried=bool(r["retried"]) if "retried" in names else False,
                first_t0=_first_t0(r) if "first_t0" in names else None,
            )
        )
    return out


def _first_t0(record: np.void) -> float | None:
    """A record's ``first_t0`` as a Sample keeps it: None for a first attempt (its own t0)."""
    first = float(record["first_t0"])
    return None if math.isnan(first) or first == float(record["t0"]) else first


def not_sent_times(directory: Path) -> npt.NDArray[np.float64]:
    """The scheduled times of every open-loop arrival not sent (``max_concurrency`` full), sorted."""
    if not directory.exists():
        return np.empty(0)
    parts = [np.fromfile(p, "<f8", count=_size(p) // 8) for p in sorted(directory.glob("*.unsent"))]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0)


#: an open loop's whole schedule, unix seconds ascending (written once, by the runner)
SCHEDULE_FILE = "schedule.f64"


def schedule_times(directory: Path) -> npt.NDArray[np.float64]:
    """Every scheduled arrival of an open loop (empty for a closed loop or a run written before it)."""
    path = directory / SCHEDULE_FILE
    return np.fromfile(path, "<f8", count=_size(path) // 8) if path.is_file() else np.empty(0)


#: JSON lines beside the samples that are not the first releases' samples
_NOT_SAMPLES = ("host.jsonl", "lag.jsonl")


def read_samples(directory: Path) -> Iterator[Sample]:
    """Every complete sample in ``directory`` (binary files, then any older ``*.jsonl``)."""
    for f in sample_files(directory):
        yield from to_samples(*f.read_new())
    for path in sorted(directory.glob("*.jsonl")) if directory.exists() else []:
        if path.name.endswith(".err.jsonl") or path.name in _NOT_SAMPLES:
            continue
        with path.open(encoding="utf-8") as src:
            for line in src:
                try:
                    yield Sample.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line
