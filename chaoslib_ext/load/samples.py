"""Raw per-request samples: one record per finished request, three files per load process.

``<prefix>-<pid>.req``: fixed 56-byte little-endian records (:data:`REQUEST`), one per request;
``<prefix>-<pid>.itl``: the inter-token gaps of every request, float32 milliseconds, in record order
(a record's ``gaps`` says how many are its own); ``<prefix>-<pid>.err.jsonl``: ``{"n": record, "error":
text}`` for the failed ones. Times in ms from the request start; ``t0`` in unix seconds, taken just
before sending; NaN where a value is absent (no content arrived, the server sent no TTFT).

Binary because a report reads a million requests (32 million gaps) in seconds, which parsing JSON
text cannot do, and packing a record costs the load client less than ``json.dumps``. A writer killed
mid-record leaves a torn tail; readers drop a record whose bytes or gaps are incomplete. Directories
written before this format (``*.jsonl``, one JSON object per request) are still read.
"""

from __future__ import annotations

import json
import math
import os
import struct
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["REQUEST", "Sample", "SampleFile", "SampleWriter", "read_samples", "sample_files", "to_samples"]

REQUEST = np.dtype(
    [
        ("t0", "<f8"),
        ("ttft_ms", "<f8"),
        ("e2el_ms", "<f8"),
        ("done_ms", "<f8"),
        ("server_ttft_ms", "<f8"),
        ("tokens", "<u4"),
        ("events", "<u4"),
        ("gaps", "<u4"),
        ("status", "<u2"),
        ("ok", "u1"),
        ("side", "u1"),  # 0, or the side (1 A, 2 B) of a load that alternates two
    ]
)
_PACK = struct.Struct("<dddddIIIHBB")
assert _PACK.size == REQUEST.itemsize


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class Sample:
    t0: float
    ttft_ms: float | None
    itl_ms: tuple[float, ...]
    tokens: int
    events: int
    status: int
    error: str | None
    done_ms: float
    server_ttft_ms: float | None = None
    side: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def e2el_ms(self) -> float | None:
        return None if self.ttft_ms is None else self.ttft_ms + math.fsum(self.itl_ms)

    def to_json(self) -> dict[str, Any]:
        return {
            "t0": self.t0,
            "ttft_ms": self.ttft_ms,
            "itl_ms": list(self.itl_ms),
            "tokens": self.tokens,
            "events": self.events,
            "status": self.status,
            "error": self.error,
            "done_ms": self.done_ms,
            "server_ttft_ms": self.server_ttft_ms,
            "side": self.side,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Sample:
        return cls(
            t0=float(raw["t0"]),
            ttft_ms=None if raw.get("ttft_ms") is None else float(raw["ttft_ms"]),
            itl_ms=tuple(float(x) for x in raw.get("itl_ms") or ()),
            tokens=int(raw.get("tokens", 0)),
            events=int(raw.get("events", 0)),
            status=int(raw.get("status", 0)),
            error=raw.get("error"),
            done_ms=float(raw.get("done_ms", 0.0)),
            server_ttft_ms=None if raw.get("server_ttft_ms") is None else float(raw["server_ttft_ms"]),
            side=int(raw.get("side", 0)),
        )


class SampleWriter:
    """Appends samples to ``<dir>/<prefix>-<pid>.*``; opened lazily so each forked process gets its own."""

    def __init__(self, directory: Path, prefix: str = "samples", flush_every_s: float = 1.0) -> None:
        self._dir = directory
        self._prefix = prefix
        self._flush_every_s = flush_every_s
        self._files: tuple[IO[bytes], IO[bytes], IO[bytes]] | None = None
        self._pid = 0
        self._count = 0
        self._last_flush = 0.0

    def _open(self) -> tuple[IO[bytes], IO[bytes], IO[bytes]]:
        if self._files is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._dir.mkdir(parents=True, exist_ok=True)
            stem = self._dir / f"{self._prefix}-{self._pid}"
            # the gaps and errors files first: a reader finding the records file finds its companions
            itl, err = open(f"{stem}.itl", "ab"), open(f"{stem}.err.jsonl", "ab")  # noqa: SIM115
            req = open(f"{stem}.req", "ab")  # noqa: SIM115 - held open for the process's life
            self._count = req.tell() // REQUEST.itemsize
            self._files = (itl, err, req)
        return self._files

    def write(self, record: dict[str, Any]) -> None:
        """Write one request (the keys of :meth:`Sample.to_json`); gaps first, the record last."""
        itl_file, err_file, req_file = self._open()
        gaps = array("f", record.get("itl_ms") or ())
        ttft = record.get("ttft_ms")
        error = record.get("error")
        itl_file.write(gaps.tobytes())
        if error is not None:
            err_file.write(json.dumps({"n": self._count, "error": str(error)}).encode() + b"\n")
        req_file.write(
            _PACK.pack(
                float(record["t0"]),
                _nan(ttft),
                math.nan if ttft is None else ttft + math.fsum(gaps),
                float(record.get("done_ms", 0.0)),
                _nan(record.get("server_ttft_ms")),
                int(record.get("tokens", 0)),
                int(record.get("events", 0)),
                len(gaps),
                int(record.get("status", 0)),
                error is None,
                int(record.get("side", 0)),
            )
        )
        self._count += 1
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        for f in self._files or ():
            f.flush()  # gaps and errors before the records that refer to them

    def close(self) -> None:
        if self._files is not None and self._pid == os.getpid():
            for f in self._files:
                f.close()
        self._files = None


@dataclass
class SampleFile:
    """One writer's files, read from where the last read stopped (records and gaps kept in step)."""

    stem: Path
    records_read: int = 0
    gaps_read: int = 0

    def read_new(self) -> tuple[npt.NDArray[Any], npt.NDArray[np.float32], dict[int, str]]:
        """Complete records after the last read, their gaps, and the errors of the failed ones (by index)."""
        count = _size(self.stem.with_suffix(".req")) // REQUEST.itemsize - self.records_read
        records = np.fromfile(
            self.stem.with_suffix(".req"), REQUEST, count=max(count, 0), offset=self.records_read * REQUEST.itemsize
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
        return records, gaps, errors

    def _errors(self, first: int, end: int) -> dict[int, str]:
        path = Path(f"{self.stem}.err.jsonl")
        out: dict[int, str] = {}
        if not path.exists():
            return out
        with path.open("rb") as src:
            for line in src:
                try:
                    raw = json.loads(line)
                    if first <= raw["n"] < end:
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
    return [SampleFile(p.with_suffix("")) for p in sorted(directory.glob("*.req"))] if directory.exists() else []


def to_samples(records: npt.NDArray[Any], gaps: npt.NDArray[np.float32], errors: dict[int, str]) -> list[Sample]:
    ends = np.cumsum(records["gaps"], dtype=np.int64)
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
            )
        )
    return out


def read_samples(directory: Path) -> Iterator[Sample]:
    """Every complete sample in ``directory`` (binary files, then any older ``*.jsonl``)."""
    for f in sample_files(directory):
        yield from to_samples(*f.read_new())
    for path in sorted(directory.glob("*.jsonl")) if directory.exists() else []:
        if path.name.endswith(".err.jsonl"):
            continue
        with path.open(encoding="utf-8") as src:
            for line in src:
                try:
                    yield Sample.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line
