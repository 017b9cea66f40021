"""The writer of the samples format (:mod:`chaoslib_ext.samples.format`): the load client's side."""

from __future__ import annotations

import json
import math
import os
import struct
import time
from array import array
from pathlib import Path
from typing import IO, Any

from chaoslib_ext.samples.format import _PACK, REQUEST, _nan, declare_format

__all__ = ["SampleWriter"]


class SampleWriter:
    """Appends samples to ``<dir>/<prefix>-<pid>.*``; opened lazily so each forked process gets its own."""

    #: flush after every record by default: Locust's SIGTERM shutdown fires ``quitting`` (which closes
    #: this writer) and then ends the process without closing what was reopened or still buffered, and a
    #: 1 s flush interval lost the last second of every load (measured: 42 of 171 arrivals at 50 req/s)
    def __init__(self, directory: Path, prefix: str = "samples", flush_every_s: float = 0.0) -> None:
        self._dir = directory
        self._prefix = prefix
        self._flush_every_s = flush_every_s
        self._files: tuple[IO[bytes], IO[bytes], IO[bytes]] | None = None
        self._unsent: IO[bytes] | None = None
        self._pid = 0
        self._count = 0
        self._last_flush = 0.0

    def _open(self) -> tuple[IO[bytes], IO[bytes], IO[bytes]]:
        if self._files is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._dir.mkdir(parents=True, exist_ok=True)
            declare_format(self._dir)
            stem = self._dir / f"{self._prefix}-{self._pid}"
            # the gaps and errors files first: a reader finding the records file finds its companions
            itl, err = open(f"{stem}.itl", "ab"), open(f"{stem}.err.jsonl", "ab")  # noqa: SIM115
            req = open(f"{stem}.req", "ab")  # noqa: SIM115 - held open for the process's life
            self._count = req.tell() // REQUEST.itemsize
            self._files = (itl, err, req)
            self._unsent = None
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
                _nan(record.get("sched_t0")),
                _minus1(record.get("in_tokens")),
                _minus1(record.get("want_in")),
                _minus1(record.get("want_out")),
                int(record.get("faults") or 0),
                int(record.get("attempt") or 0),
                bool(record.get("retried")),
                float(record.get("first_t0") or record["t0"]),
            )
        )
        self._count += 1
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self.flush()
            self._last_flush = now

    def write_not_sent(self, sched_t0: float) -> None:
        """Record an open-loop arrival that was not sent (``max_concurrency`` full), by its scheduled time."""
        self._open()
        if self._unsent is None:
            self._unsent = open(self._dir / f"{self._prefix}-{self._pid}.unsent", "ab")  # noqa: SIM115
        self._unsent.write(struct.pack("<d", sched_t0))
        if self._flush_every_s <= 0:
            self._unsent.flush()

    def flush(self) -> None:
        if self._unsent is not None:
            self._unsent.flush()
        for f in self._files or ():
            f.flush()  # gaps and errors before the records that refer to them

    def close(self) -> None:
        if self._files is not None and self._pid == os.getpid():
            for f in (*self._files, *((self._unsent,) if self._unsent else ())):
                f.close()
        self._files = None
        self._unsent = None


def _minus1(value: int | None) -> int:
    return -1 if value is None else int(value)
