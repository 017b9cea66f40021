"""Raw per-request samples: one JSON line per finished request, one file per load process.

A line (times in ms from the request start; ``t0`` in unix seconds, taken just before sending)::

    {"t0": 1795364263.1234, "ttft_ms": 45.2, "itl_ms": [12.1, 11.9], "tokens": 3, "events": 3,
     "status": 200, "error": null, "done_ms": 70.1, "server_ttft_ms": null}

``ttft_ms`` is the first content event, ``itl_ms`` every gap between consecutive content events,
``tokens`` the server's ``usage.completion_tokens`` when sent (else ``events``, the content events
counted), ``done_ms`` when the response ended (success or not), ``error`` null for a success.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["Sample", "SampleWriter", "read_samples"]


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

    @property
    def ok(self) -> bool:
        return self.error is None

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
        )


class SampleWriter:
    """Appends samples to ``<dir>/<prefix>-<pid>.jsonl``; opened lazily so each forked process gets its own."""

    def __init__(self, directory: Path, prefix: str = "samples", flush_every_s: float = 1.0) -> None:
        self._dir = directory
        self._prefix = prefix
        self._flush_every_s = flush_every_s
        self._file: IO[str] | None = None
        self._pid = 0
        self._last_flush = 0.0

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._dir.mkdir(parents=True, exist_ok=True)
            self._file = (self._dir / f"{self._prefix}-{self._pid}.jsonl").open("a", encoding="utf-8")
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self._file.flush()
            self._last_flush = now

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None


def read_samples(directory: Path) -> Iterator[Sample]:
    """Every sample in ``directory``; a torn last line (a killed writer) is skipped."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as src:
            for line in src:
                try:
                    raw = json.loads(line)
                except ValueError:
                    continue
                yield Sample.from_json(raw)
