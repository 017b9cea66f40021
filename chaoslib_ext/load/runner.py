"""Locust, always as a subprocess: importing it would gevent-patch (and hang) the chaos process.

The Locust master runs in its own session, so a Ctrl-C in the terminal reaches the runner (which
decides when load stops) and not Locust; ``stop`` signals the master and then its whole process
group, which holds the ``--processes`` workers. Every run is bounded twice: the load shape ends
after ``max_run_s`` (Locust ignores ``--run-time`` when a shape is used), and every Locust process
stops when the process that started it dies. The process record is kept in
``<run>/load/process.json`` so a later cleanup can stop it too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, log_tail, reap, spawn_detached, stop
from chaoslib_ext._readiness import free_port
from chaoslib_ext.exceptions import LoadError
from chaoslib_ext.load.remote import WORKERS_FILE, join_port
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.samples import read_samples
from chaoslib_ext.samples.reader import SCHEDULE_FILE

__all__ = ["LoadProcess", "locustfile", "start_load"]

#: Users finish the request in hand when load stops, for at most this long.
STOP_TIMEOUT_S = 15.0
#: An open loop's schedule starts this long after Locust is started (its processes start meanwhile).
SCHEDULE_LEAD_S = 1.0
#: where a run's Locust master waits for remote workers (chaoslib_ext.load.remote)
MASTER_FILE = "master.json"


def locustfile() -> Path:
    """The streaming user's locustfile, from the ``loadtests`` package installed beside chaoslib_ext."""
    import loadtests  # the module has no side effects: it only names its files

    return loadtests.LOCUSTFILE


class LoadProcess:
    """A running Locust whose samples land in ``samples_dir``."""

    def __init__(self, record: ProcessRecord, samples_dir: Path, load_dir: Path) -> None:
        self.record = record
        self.samples_dir = samples_dir
        self.load_dir = load_dir

    @classmethod
    def find(cls, load_dir: Path, samples_dir: Path) -> LoadProcess | None:
        path = load_dir / "process.json"
        if not path.exists():
            return None
        return cls(ProcessRecord.from_json(read_json(path)), samples_dir, load_dir)

    @property
    def running(self) -> bool:
        return alive(self.record)

    def wait_flowing(self, timeout_s: float = 60.0, errors_to_give_up: int = 20) -> None:
        """Return once a request succeeded; raise LoadError when only failures come, or none at all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            samples = list(read_samples(self.samples_dir)) if self.samples_dir.exists() else []
            if any(s.ok for s in samples):
                return
            if len(samples) >= errors_to_give_up:
                raise LoadError(f"target unreachable: {len(samples)} requests failed, first: {samples[0].error}")
            if not self.running:
                raise LoadError(f"Locust exited before any request succeeded; log {self.log}:\n{log_tail(self.log)}")
            time.sleep(0.1)
        first = next(iter(read_samples(self.samples_dir)), None) if self.samples_dir.exists() else None
        detail = f"first error: {first.error}" if first else "no request finished"
        raise LoadError(f"no successful request within {timeout_s:g}s ({detail}); log {self.log}")

    def wait_workers(self, expected: int, timeout_s: float) -> None:
        """Return once ``expected`` remote workers joined and their clocks were exchanged; LoadError
        naming how many came (or which was refused) when the time is up or Locust gave up."""
        deadline = time.monotonic() + timeout_s + 5.0  # Locust's own wait ends first, with its message
        master = read_json(self.load_dir / MASTER_FILE)
        hint = f"start `chaosllm worker --master {master['host']}:{master['port']}` on each load host"
        print(f"chaosllm: waiting {timeout_s:g}s for {expected} worker(s): {hint}", file=sys.stderr, flush=True)
        workers: list[dict[str, object]] = []
        while time.monotonic() < deadline and self.running:
            path = self.load_dir / WORKERS_FILE
            workers = list(read_json(path)["workers"]) if path.exists() else []
            refused = [w for w in workers if w.get("refused")]
            if refused:
                raise LoadError(f"remote worker {refused[0]['name']} refused: {refused[0]['refused']}")
            if sum(1 for w in workers if w.get("clock_exchanges")) >= expected:
                return
            time.sleep(0.2)
        raise LoadError(f"{len(workers)} of {expected} remote workers joined within {timeout_s:g}s: {hint}")

    def wait_exit(self, timeout_s: float) -> bool:
        """Wait for Locust to end on its own; True if it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reap(self.record.pid)
            if not self.running:
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop Locust gracefully (users finish their request), then hard-stop its process group."""
        if self.running:
            stop(self.record, grace_s=STOP_TIMEOUT_S + 10.0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.record.pid, signal.SIGKILL)  # the workers of --processes, if any outlived it
        reap(self.record.pid)

    @property
    def log(self) -> Path:
        return self.load_dir / "locust.log"


def _master_argv(spec: LoadSpec, load_dir: Path) -> list[str]:
    """Locust's master for ``spec.workers`` remote workers (chaoslib_ext.load.remote); where they join in
    ``load/master.json``. Port 0: a free port whose next port (the join port) is free too."""
    host, port = spec.master_address
    port = port or _free_pair(host)
    write_json_atomic(load_dir / MASTER_FILE, {"host": host, "port": port, "join_port": join_port(port)})
    wait = max(1, math.ceil(spec.worker_timeout_s))
    return ["--master", "--master-bind-host", host, "--master-bind-port", str(port),
            "--expect-workers", str(spec.workers), "--expect-workers-max-wait", str(wait)]  # fmt: skip


def _free_pair(host: str) -> int:
    for _ in range(50):
        port = free_port(host)
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.bind((host, join_port(port)))
            return port
    raise LoadError(f"no free pair of ports on {host} for the Locust master and its join port")


def start_load(
    spec: LoadSpec, samples_dir: Path, load_dir: Path, max_run_s: float, trace: str | None = None
) -> LoadProcess:
    """Start Locust against the spec's endpoint; it stops by itself after the spec's duration or
    ``max_run_s``, whichever is shorter, or within seconds of this process dying (see the locustfile).
    ``trace``: ``<trace id>:<share>`` (a share of the requests carry a traceparent in that trace).
    Raises TargetError when a header's credential cannot be resolved."""
    bound = min(spec.duration_s, max_run_s) if spec.duration_s else max_run_s
    spec = replace(spec, duration_s=bound)
    headers = spec.resolved_headers()
    load_dir.mkdir(parents=True, exist_ok=True)
    samples_dir.mkdir(parents=True, exist_ok=True)
    spec_file = load_dir / "spec.json"
    write_json_atomic(spec_file, spec.to_json())  # secrets scrubbed: header values go by the environment
    run_time_s = max(1, round(bound))
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile()),
        "--headless",
        "--host",
        str(spec.url),
        "--run-time",
        f"{run_time_s}s",
        "--stop-timeout",
        f"{STOP_TIMEOUT_S:g}",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    if spec.workers:
        argv += _master_argv(spec, load_dir)
    elif spec.processes > 1:
        argv += ["--processes", str(spec.processes)]
    env = {
        **os.environ,
        "CHAOSLLM_LOAD_SPEC": str(spec_file),
        "CHAOSLLM_SAMPLES_DIR": str(samples_dir),
        "CHAOSLLM_LOAD_HEADERS": json.dumps(headers),
        "CHAOSLLM_TRACE": trace or "",
        "PYTHONUNBUFFERED": "1",
    }
    if spec.workload is not None:  # the prompts' words, checked with the server's tokenizer, before any load
        from chaoslib_ext.load.prepare import prepare_workload  # only a workload needs its tokenizer

        env["CHAOSLLM_WORKLOAD"] = str(prepare_workload(spec, headers, load_dir))
    if spec.arrivals is not None:
        # the whole schedule, once: every load process sends its share of this file, and arrivals that
        # never finish are counted from it; it starts SCHEDULE_LEAD_S from now (the processes start meanwhile)
        origin = time.time() + SCHEDULE_LEAD_S
        (origin + spec.arrivals.schedule(spec.shape, bound)).astype("<f8").tofile(samples_dir / SCHEDULE_FILE)
    record = spawn_detached("locust", argv, load_dir / "locust.log", env)
    write_json_atomic(load_dir / "process.json", record.to_json())
    return LoadProcess(record, samples_dir, load_dir)
