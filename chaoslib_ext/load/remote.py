"""Load processes on other hosts: Locust workers that join a run's Locust master (``load.workers``).

A remote worker (``chaosllm worker --master HOST:PORT``) fetches the run's load (spec, workload,
schedule) from the master's join port (``PORT + 1``), resolves the request headers' credentials in
its own environment, and starts ``locust --worker`` against ``HOST:PORT``. Its samples go to a
directory of its own; it ships what it wrote to the master twice a second over Locust's message
channel (:class:`Shipper`), and the master appends them to the run's samples (:class:`Receiver`),
placed on the controller's clock:

- **Clocks.** At join and every ``CLOCK_EVERY_S`` the master sends its time, the worker answers with
  its own, and the master takes the offset ``worker - (sent + received) / 2``, within a bound of half
  the round trip (:func:`exchange`). A worker whose bound exceeds ``max_clock_offset`` (default
  5 ms) is refused: its samples are not mixed into the run, and the run exits 2. Until its first
  exchange, a worker's samples wait.
- **Loss.** Each shipment says how many requests the worker had started. When a worker goes silent,
  what it shipped is kept; ``started - received`` is reported as lost (``load/workers.json``). A
  worker that quits ships a last time: what it started and never finished was in flight at the stop
  (``unfinished``).
- **Health.** The master writes a heartbeat for each remote worker on each shipment
  (:mod:`chaoslib_ext.load.health`): a silent or refused worker stops the run with ``load_died``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.samples.format import REQUEST, declare_format
from chaoslib_ext.samples.lag import LAG_FILE

__all__ = [
    "CLOCK_EVERY_S",
    "JOIN_PATH",
    "SHIP_EVERY_S",
    "WORKERS_FILE",
    "ClockSample",
    "Receiver",
    "RemoteWorker",
    "Shipper",
    "exchange",
    "join_port",
]

CLOCK_EVERY_S = 30.0
SHIP_EVERY_S = 0.5
JOIN_PATH = "/chaosllm/join"
WORKERS_FILE = "workers.json"
_SHIPPED = (".req", ".itl", ".err.jsonl", ".unsent")


def join_port(master_port: int) -> int:
    """Where the master serves the run's load to joining workers."""
    return master_port + 1


@dataclass(frozen=True)
class ClockSample:
    """A worker's clock minus the controller's, within ``bound_s`` (half the exchange's round trip)."""

    offset_s: float
    bound_s: float
    at: float


def exchange(sent_at: float, worker_at: float, received_at: float) -> ClockSample:
    """The offset one round trip measured: the worker read its clock somewhere between sending and receiving."""
    middle = (sent_at + received_at) / 2.0
    return ClockSample(worker_at - middle, (received_at - sent_at) / 2.0, received_at)


class Shipper:
    """The worker's side: the bytes its processes appended to their sample files since the last batch.

    A records file is shipped in whole records only, and after its gaps and errors files were read,
    so every record shipped has its gaps and errors shipped with or before it."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._sent: dict[str, int] = {}

    def batch(self) -> dict[str, bytes]:
        """File name -> the bytes new since the last batch (nothing when nothing is new)."""
        out: dict[str, bytes] = {}
        if not self._dir.exists():
            return out
        records = sorted(self._dir.glob("*.req"))
        sizes = {p.name: p.stat().st_size // REQUEST.itemsize * REQUEST.itemsize for p in records}
        for path in sorted(self._dir.iterdir()):  # after the records' sizes: their gaps are in already
            if path.name.endswith(_SHIPPED) or path.name == LAG_FILE:
                size = sizes.get(path.name, path.stat().st_size)
                if path.name == LAG_FILE or path.name.endswith(".err.jsonl"):
                    size = _whole_lines(path, self._sent.get(path.name, 0), size)
                chunk = _read(path, self._sent.get(path.name, 0), size)
                if chunk:
                    out[path.name] = chunk
                    self._sent[path.name] = self._sent.get(path.name, 0) + len(chunk)
        return out

    def requests(self) -> int:
        """The requests whose records were shipped so far."""
        return sum(n for name, n in self._sent.items() if name.endswith(".req")) // REQUEST.itemsize


def _read(path: Path, start: int, end: int) -> bytes:
    if end <= start:
        return b""
    with path.open("rb") as f:
        f.seek(start)
        return f.read(end - start)


def _whole_lines(path: Path, start: int, size: int) -> int:
    """The end of the last complete line of ``path`` between ``start`` and ``size``."""
    data = _read(path, start, size)
    return start + data.rfind(b"\n") + 1 if data else start


@dataclass
class RemoteWorker:
    """What the master knows of one remote worker."""

    name: str  # w<index>
    client_id: str
    joined_at: float
    clocks: list[ClockSample] = field(default_factory=list)
    started: int = 0  # requests the worker said it had started
    received: int = 0  # records received
    last_shipment_at: float | None = None
    refused: str | None = None
    state: str = "joined"  # joined, running (shipping), finishing (asked to stop), quit (its last shipment came)
    waiting: list[dict[str, bytes]] = field(default_factory=list)  # shipments before the first clock

    @property
    def offset_s(self) -> float | None:
        return self.clocks[-1].offset_s if self.clocks else None

    @property
    def max_bound_s(self) -> float | None:
        return max((c.bound_s for c in self.clocks), default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "client_id": self.client_id,
            "joined_at": self.joined_at,
            "state": self.state,
            "refused": self.refused,
            "clock_offset_ms": None if self.offset_s is None else round(self.offset_s * 1000.0, 3),
            "clock_bound_ms": None if self.max_bound_s is None else round(self.max_bound_s * 1000.0, 3),
            "clock_exchanges": len(self.clocks),
            "started": self.started,
            "received": self.received,
            # a worker that quit shipped everything it finished: the rest was in flight when the load stopped
            "unfinished": max(0, self.started - self.received) if self.state == "quit" else 0,
            "lost": max(0, self.started - self.received) if self.state != "quit" else 0,
            "last_shipment_at": self.last_shipment_at,
        }


class Receiver:
    """The master's side: remote workers' shipments appended to the run's samples on the controller's
    clock, and their state in ``<load_dir>/workers.json``."""

    def __init__(self, samples_dir: Path, load_dir: Path, max_offset_s: float) -> None:
        self._samples = samples_dir
        self._load = load_dir
        self.max_offset_s = max_offset_s
        self.workers: dict[str, RemoteWorker] = {}

    def joined(self, client_id: str, index: int) -> RemoteWorker:
        worker = self.workers.get(client_id)
        if worker is None:
            worker = self.workers[client_id] = RemoteWorker(f"w{index}", client_id, time.time())
            self.save()
        return worker

    def clock(self, client_id: str, sample: ClockSample) -> RemoteWorker:
        """Record an exchange; a bound past the limit refuses the worker (its samples are dropped)."""
        worker = self.workers[client_id]
        worker.clocks.append(sample)
        if sample.bound_s > self.max_offset_s and worker.refused is None:
            worker.refused = (
                f"its clock offset is known only within {sample.bound_s * 1000:.1f} ms "
                f"(limit {self.max_offset_s * 1000:g} ms): its samples could land in the wrong phase"
            )
            worker.waiting.clear()
        elif worker.refused is None:
            for files in worker.waiting:
                self._append(worker, files)
            worker.waiting.clear()
        self.save()
        return worker

    def shipment(self, client_id: str, files: dict[str, bytes], started: int, final: bool = False) -> RemoteWorker:
        """A worker's shipment (``final``: its last, as it quits)."""
        worker = self.workers[client_id]
        worker.started = max(worker.started, started)
        worker.last_shipment_at = time.time()
        if final or worker.state == "quit":
            worker.state = "quit"
        elif worker.state != "finishing":
            worker.state = "running"
        if worker.refused is None:
            if worker.offset_s is None:
                worker.waiting.append(files)
            else:
                self._append(worker, files)
        self.save()
        return worker

    def _append(self, worker: RemoteWorker, files: dict[str, bytes]) -> None:
        offset = worker.offset_s or 0.0
        declare_format(self._samples)
        for name, data in files.items():
            if name == LAG_FILE:
                target, data = self._samples / LAG_FILE, _shift_lines(data, offset)
            else:
                target = self._samples / f"{worker.name}-{name}"
                if name.endswith(".req"):
                    data = _shift_records(data, offset)
                    worker.received += len(data) // REQUEST.itemsize
                elif name.endswith(".unsent"):
                    data = (np.frombuffer(data, "<f8") - offset).astype("<f8").tobytes()
            with target.open("ab") as f:
                f.write(data)

    def save(self) -> None:
        body = {
            "max_clock_offset_ms": self.max_offset_s * 1000.0,
            "workers": [w.to_json() for w in self.workers.values()],
        }
        write_json_atomic(self._load / WORKERS_FILE, body)


def _shift_records(data: bytes, offset_s: float) -> bytes:
    """Records moved from the worker's clock to the controller's (``t0``, ``sched_t0``)."""
    records = np.frombuffer(data, dtype=REQUEST).copy()
    records["t0"] -= offset_s
    records["sched_t0"] -= offset_s  # NaN (a closed loop) stays NaN
    return records.tobytes()


def _shift_lines(data: bytes, offset_s: float) -> bytes:
    out = []
    for line in data.splitlines():
        raw = json.loads(line)
        raw["at"] = round(float(raw["at"]) - offset_s, 4)
        out.append(json.dumps(raw, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode() if out else b""


def worker_environ(load_dir: Path, samples_dir: Path, headers: dict[str, str]) -> dict[str, str]:
    """The environment of a remote worker's Locust process (its spec and samples in its own directories)."""
    return {
        **os.environ,
        "CHAOSLLM_LOAD_SPEC": str(load_dir / "spec.json"),
        "CHAOSLLM_SAMPLES_DIR": str(samples_dir),
        "CHAOSLLM_LOAD_HEADERS": json.dumps(headers),
        "CHAOSLLM_REMOTE_WORKER": "1",
        "PYTHONUNBUFFERED": "1",
    }
