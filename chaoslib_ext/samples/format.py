"""Raw per-request samples: one record per finished request, three files per load process.

``<prefix>-<pid>.req``: fixed 80-byte little-endian records (:data:`REQUEST`), one per request;
``<prefix>-<pid>.itl``: the inter-token gaps of every request, float32 milliseconds, in record order
(a record's ``gaps`` says how many are its own); ``<prefix>-<pid>.err.jsonl``: ``{"n": record, "error":
text}`` for the failed ones. Times in ms from the request start; ``t0`` in unix seconds, taken just
before sending; NaN where a value is absent (no content arrived, the server sent no TTFT).

Binary because a report reads a million requests (32 million gaps) in seconds, which parsing JSON
text cannot do, and packing a record costs the load client less than ``json.dumps``. A writer killed
mid-record leaves a torn tail; readers drop a record whose bytes or gaps are incomplete. Directories
written before this format (``*.jsonl``, one JSON object per request) are still read.

An open-loop load (``rate``) adds ``sched_t0``, the unix time the request was scheduled to be sent
(NaN in a closed loop; ``t0 - sched_t0`` is the send lag), and ``<prefix>-<pid>.unsent``: the
scheduled times (float64) of the arrivals that found ``max_concurrency`` full and were not sent; and
``schedule.f64``, written by the runner before the load starts: every arrival's scheduled unix time
(float64, ascending), so an arrival that was sent but never finished (in flight when the load was
stopped) is counted too, as scheduled minus sent minus not sent.

Version 4 adds the request's token lengths: ``in_tokens``, the prompt tokens the server counted
(``usage.prompt_tokens``), and ``want_in`` / ``want_out``, the input and output lengths a workload
asked for (chaoslib_ext.load.workload); -1 where absent. Version 5 names the last 4 bytes (padding,
always 0, in version 4): ``faults``, a bitmask of the faults of an HTTP link that touched the request, as
the fault proxy marked it (bit ``n`` is the fault whose ledger entry has ``details.mark == n``).
Version 6 adds a load's retries (chaoslib_ext.load.retry): ``attempt``, 0 for a first attempt and n for
the n-th retry of a request, ``retried``, 1 when another attempt followed this one, and ``first_t0``,
the ``t0`` of the request's first attempt (its own for a first attempt: it ties a retry to its request,
and the last attempt's end minus it is what the retrying client waited in all) (96 bytes).

The format has a version, declared by ``format.json`` beside the files (:data:`VERSION`): 1 is the
JSON lines of the first releases, 2 the binary records without ``sched_t0`` (56 bytes; written
without ``format.json`` until it existed), 3 with it (64 bytes), 4 with the lengths (80 bytes), 5 with
the marks (80 bytes, the same layout as 4: its padding, 0, reads as no fault), 6 these. Readers read
every older version and refuse a newer one with :class:`SamplesFormatError`, rather than misread
records whose layout they do not know.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import SamplesFormatError

__all__ = [
    "FORMAT",
    "FORMAT_FILE",
    "RECORD_V2",
    "RECORD_V3",
    "REQUEST",
    "VERSION",
    "Sample",
    "check_format",
    "declare_format",
    "record_dtype",
    "upgrade",
]

FORMAT = "chaosllm/samples"
VERSION = 6
FORMAT_FILE = "format.json"

_V2_FIELDS = [
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
RECORD_V2 = np.dtype(_V2_FIELDS)
RECORD_V3 = np.dtype([*_V2_FIELDS, ("sched_t0", "<f8")])  # NaN in a closed loop
#: version 4: token lengths, -1 where absent, and 4 bytes of padding (records 8-byte aligned) that
#: version 5 names ``faults``: the stream faults that touched the request, a bitmask (0 in version 4)
RECORD_V5 = np.dtype(
    [*RECORD_V3.descr, ("in_tokens", "<i4"), ("want_in", "<i4"), ("want_out", "<i4"), ("faults", "<u4")]
)
#: version 6: the attempt of a request a retry policy sent again (0 the first), and whether another
#: followed it (5 bytes of padding keep records 8-byte aligned), and the t0 of its first attempt
REQUEST = np.dtype([*RECORD_V5.descr, ("attempt", "<u2"), ("retried", "u1"), ("pad", "V5"), ("first_t0", "<f8")])
_PACK = struct.Struct("<dddddIIIHBBdiiiIHB5xd")
assert _PACK.size == REQUEST.itemsize == 96
_ABSENT = {"sched_t0": np.nan, "in_tokens": -1, "want_in": -1, "want_out": -1, "faults": 0, "attempt": 0,
           "retried": 0, "first_t0": np.nan}  # fmt: skip


def record_dtype(version: int) -> np.dtype[np.void]:
    """The binary record of samples format ``version`` (2, 3, 4 and 5: one layout, 6)."""
    return {2: RECORD_V2, 3: RECORD_V3, 4: RECORD_V5, 5: RECORD_V5}.get(version, REQUEST)


def upgrade(records: np.ndarray[Any, np.dtype[np.void]]) -> np.ndarray[Any, np.dtype[np.void]]:
    """Records of an older binary version as the current ones (fields they lack: NaN or -1)."""
    if records.dtype == REQUEST:
        return records
    out = np.zeros(records.shape, REQUEST)
    have = set(records.dtype.names or ())
    for name in REQUEST.names or ():
        if name in have or name in _ABSENT:
            out[name] = records[name] if name in have else _ABSENT[name]
    return out


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
    sched_t0: float | None = None  # open loop: when it was scheduled to be sent
    in_tokens: int | None = None  # prompt tokens the server counted (usage.prompt_tokens)
    want_in: int | None = None  # a workload's requested input tokens
    want_out: int | None = None  # a workload's requested output tokens
    faults: int = 0  # bitmask of the faults of an HTTP link that touched it (the proxy's marks)
    attempt: int = 0  # 0: a first attempt; n: the n-th retry (chaoslib_ext.load.retry)
    retried: bool = False  # another attempt followed this one
    first_t0: float | None = None  # the t0 of the request's first attempt (None: this one's)

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
            "sched_t0": self.sched_t0,
            "in_tokens": self.in_tokens,
            "want_in": self.want_in,
            "want_out": self.want_out,
            "faults": self.faults,
            "attempt": self.attempt,
            "retried": self.retried,
            "first_t0": self.first_t0,
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
            sched_t0=None if raw.get("sched_t0") is None else float(raw["sched_t0"]),
            in_tokens=_count(raw.get("in_tokens")),
            want_in=_count(raw.get("want_in")),
            want_out=_count(raw.get("want_out")),
            faults=int(raw.get("faults") or 0),
            attempt=int(raw.get("attempt") or 0),
            retried=bool(raw.get("retried")),
            first_t0=None if raw.get("first_t0") is None else float(raw["first_t0"]),
        )


def _count(value: object) -> int | None:
    """A token count, None for what is absent (None, or -1 in a binary record)."""
    return None if value is None or int(value) < 0 else int(value)  # type: ignore[call-overload]


def declare_format(directory: Path) -> None:
    """Write ``format.json`` (every writer of a directory writes the same, so racing writers agree)."""
    path = directory / FORMAT_FILE
    if not path.exists():
        write_json_atomic(path, {"format": FORMAT, "version": VERSION})


def check_format(directory: Path) -> int:
    """The version of the samples in ``directory``; SamplesFormatError if this release cannot read it."""
    path = directory / FORMAT_FILE
    if not path.exists():
        return 2 if any(directory.glob("*.req")) else 1  # binary before format.json existed, else JSON lines
    try:
        raw = read_json(path)
        version = int(raw["version"])
        if raw["format"] != FORMAT:
            raise SamplesFormatError(f"{path}: format {raw['format']!r} is not {FORMAT!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise SamplesFormatError(f"{path}: not a samples format declaration ({exc})") from exc
    if version > VERSION:
        raise SamplesFormatError(
            f"{path}: samples of format version {version}; this chaoslib-ext reads versions 1 to {VERSION}. "
            "Upgrade chaoslib-ext to read them (nothing was read)"
        )
    return version
