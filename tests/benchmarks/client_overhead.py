"""Benchmark: the TTFT overhead the load client itself adds, our Locust user vs a plain aiohttp client.

Both clients stream from the calibration server (first token 50 ms after each request, then one
every 10 ms, 32 tokens), each in its own process, one after the other, at each concurrency. For every
request, overhead = client TTFT - the TTFT the server embedded in its first event (``x_server_ms``):
what the client's scheduling, parsing and the loopback add. CPU is the client's whole process group,
read from /proc over the measured window, per 1,000 SSE content events delivered in that window.

    .venv/bin/python -m tests.benchmarks.client_overhead [--streams 50 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext.load.runner import start_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.metrics import Window
from chaoslib_ext.samples import read_samples
from chaoslib_ext.samples.table import SampleTable
from tests.integration.helpers import process_group, start_calibration_server

HERE = Path(__file__).parent
WARMUP_S = 4.0
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of a process group."""
    return sum(process_group(pgid).values()) * TICK_S


@dataclass
class Result:
    client: str
    streams: int
    requests_s: float
    events_s: float
    overhead_p50_ms: float
    overhead_p99_ms: float
    cpu_s_per_1k_events: float
    cpu_share: float
    server_cpu_share: float


def analyse(
    client: str, streams: int, samples_dir: Path, window: tuple[float, float], cpu_s: float, server_cpu_s: float
) -> Result:
    samples = [s for s in read_samples(samples_dir) if s.ok]
    table = SampleTable.from_samples(samples)
    w = Window((window,))
    started = w.contains(table.start_at)
    overhead = (table.ttft_ms - table.server_ttft_ms)[started]
    events = sum(int(w.contains(c.token_at).sum()) for c in table.token_chunks())
    length = window[1] - window[0]
    return Result(
        client,
        streams,
        float(w.contains(table.end_at).sum()) / length,
        events / length,
        float(np.percentile(overhead, 50)),
        float(np.percentile(overhead, 99)),
        cpu_s / events * 1000,
        cpu_s / length,
        server_cpu_s / length,
    )


def measure(pgid: int, server_pgid: int, seconds: float) -> tuple[tuple[float, float], float, float]:
    """(window, client CPU s, server CPU s) over ``seconds`` after the warmup."""
    time.sleep(WARMUP_S)
    start, cpu0, server0 = time.time(), group_cpu_s(pgid), group_cpu_s(server_pgid)
    time.sleep(seconds)
    return (start, time.time()), group_cpu_s(pgid) - cpu0, group_cpu_s(server_pgid) - server0


def run_locust(url: str, server_pid: int, streams: int, seconds: float, work: Path, processes: int = 1) -> Result:
    spec = LoadSpec.parse(
        {"users": streams, "max_tokens": 32, "spawn_rate": streams, "warmup": "0s", "processes": processes, "url": url}
    )
    load = start_load(spec, work / "samples", work / "load", max_run_s=WARMUP_S + seconds + 60)
    try:
        load.wait_flowing()
        window, cpu_s, server_s = measure(load.record.pid, server_pid, seconds)
    finally:
        load.stop()
    name = "locust user" if processes == 1 else f"locust user x{processes}"
    return analyse(name, streams, work / "samples", window, cpu_s, server_s)


def run_aiohttp(url: str, server_pid: int, streams: int, seconds: float, work: Path) -> Result:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "aiohttp_client.py"),
            "--url",
            url,
            "--users",
            str(streams),
            "--duration",
            str(WARMUP_S + seconds + 2),
            "--out",
            str(work / "samples"),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        window, cpu_s, server_s = measure(proc.pid, server_pid, seconds)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return analyse("aiohttp client", streams, work / "samples", window, cpu_s, server_s)


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per client and concurrency")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes (also run: 1)")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="chaosllm-bench-") as tmp:
        server, url = start_calibration_server(Path(tmp), subprocess.DEVNULL)
        try:
            for streams in args.streams:
                for name, run in (("locust", run_locust), ("aiohttp", run_aiohttp)):
                    results.append(run(url, server.pid, streams, args.seconds, Path(tmp) / f"{name}-{streams}"))
                if args.processes > 1:
                    work = Path(tmp) / f"locust{args.processes}-{streams}"
                    results.append(run_locust(url, server.pid, streams, args.seconds, work, args.processes))
        finally:
            server.terminate()
            server.wait()
    print(
        f"{'client':<15} {'streams':>7} {'req/s':>7} {'events/s':>9} {'overhead p50 ms':>16} "
        f"{'overhead p99 ms':>16} {'CPU s/1k events':>16} {'CPU (cores)':>12} {'server CPU':>11}"
    )
    for r in results:
        print(
            f"{r.client:<15} {r.streams:>7} {r.requests_s:>7.1f} {r.events_s:>9.0f} {r.overhead_p50_ms:>16.2f} "
            f"{r.overhead_p99_ms:>16.2f} {r.cpu_s_per_1k_events:>16.4f} {r.cpu_share:>12.2f} "
            f"{r.server_cpu_share:>11.2f}"
        )
    for streams in args.streams:
        ours, base = (
            next(r for r in results if r.streams == streams and r.client.startswith(c)) for c in ("locust", "aiohttp")
        )
        print(
            f"{streams} streams: locust/aiohttp  p99 overhead x{ours.overhead_p99_ms / base.overhead_p99_ms:.2f}, "
            f"CPU per event x{ours.cpu_s_per_1k_events / base.cpu_s_per_1k_events:.2f}"
        )
    return results


if __name__ == "__main__":
    main()
