"""Benchmark: what the load client itself adds, and its CPU per SSE event: our Locust user reading the
socket (``load.client: socket``), the same user through Locust's FastHttpUser ``readline``
(``load.client: fasthttp``, the reader before), and a plain aiohttp client, in the same run.

Every client streams from the calibration server (first content 50 ms after each request, then one
event every 10 ms, 20 tokens: ~16k SSE events/s at 200 streams), each in its own process, one after
the other, at each concurrency, ``--runs`` times; the figures are the median of the runs. For every
request, added TTFT = client TTFT - the TTFT the server embedded in its first event. CPU is the
client's whole process group (/proc), per 1,000 content events delivered in the measured window.
Requests in flight during a second in which the hypervisor stole >= 20 % of the host are left out
(this VM loses 20-55 % for 10-30 s at a time), and the starved seconds are printed.

    .venv/bin/python -m tests.benchmarks.client_overhead [--streams 50 200] [--seconds 15] [--runs 3]
        [--processes N] [--clients socket fasthttp aiohttp]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from chaoslib_ext.load.runner import start_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.metrics import Window
from chaoslib_ext.metrics.gaps import GapIndex
from chaoslib_ext.samples.host import HostRecorder, read_host
from chaoslib_ext.samples.table import SampleTable
from tests.integration.helpers import process_group, start_calibration_server

HERE = Path(__file__).parent
WARMUP_S = 4.0
TOKENS = 20
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
CLIENTS = ("socket", "fasthttp", "aiohttp")
NAMES = {"socket": "locust, socket", "fasthttp": "locust, readline", "aiohttp": "aiohttp"}


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
    itl_p50_ms: float
    cpu_s_per_1k_events: float
    cpu_share: float
    server_cpu_share: float
    starved_s: float


def analyse(
    client: str, streams: int, samples_dir: Path, window: tuple[float, float], cpu_s: float, server_cpu_s: float,
    host_dir: Path,
) -> Result:  # fmt: skip
    table = SampleTable.from_directory(samples_dir)
    w = Window((window,))
    host = read_host(host_dir)
    starved = host.starved() if host is not None else []
    in_starved = np.zeros(table.start_at.shape, dtype=np.bool_)
    for a, b in starved:
        in_starved |= (table.start_at < b) & (table.end_at > a)
    kept = w.contains(table.start_at) & table.ok & ~in_starved
    overhead = (table.ttft_ms - table.server_ttft_ms)[kept]
    events = sum(int(w.contains(c.token_at).sum()) for c in table.token_chunks())
    length = window[1] - window[0]
    return Result(
        client,
        streams,
        float((w.contains(table.end_at) & table.ok).sum()) / length,
        events / length,
        float(np.percentile(overhead, 50)),
        float(np.percentile(overhead, 99)),
        GapIndex(table, [w]).distribution(w).p50 or float("nan"),
        cpu_s / events * 1000,
        cpu_s / length,
        server_cpu_s / length,
        sum(min(b, window[1]) - max(a, window[0]) for a, b in starved if b > window[0] and a < window[1]),
    )


def measure(pgid: int, server_pgid: int, seconds: float, host_dir: Path) -> tuple[tuple[float, float], float, float]:
    """(window, client CPU s, server CPU s) over ``seconds`` after the warmup; the host's CPU in host_dir."""
    recorder = HostRecorder(host_dir)
    stop = threading.Event()

    def record() -> None:
        while not stop.wait(1.0):
            recorder.tick()

    thread = threading.Thread(target=record)
    thread.start()
    try:
        time.sleep(WARMUP_S)
        start, cpu0, server0 = time.time(), group_cpu_s(pgid), group_cpu_s(server_pgid)
        time.sleep(seconds)
        return (start, time.time()), group_cpu_s(pgid) - cpu0, group_cpu_s(server_pgid) - server0
    finally:
        stop.set()
        thread.join()


def run_locust(
    client: str, url: str, server_pid: int, streams: int, seconds: float, work: Path, processes: int
) -> Result:
    spec = LoadSpec.parse(
        {"users": streams, "max_tokens": TOKENS, "spawn_rate": streams, "warmup": "0s", "processes": processes,
         "url": url, "client": client}
    )  # fmt: skip
    load = start_load(spec, work / "samples", work / "load", max_run_s=WARMUP_S + seconds + 60)
    try:
        load.wait_flowing()
        window, cpu_s, server_s = measure(load.record.pid, server_pid, seconds, work / "host")
    finally:
        load.stop()
    name = NAMES[client] + ("" if processes == 1 else f" x{processes}")
    return analyse(name, streams, work / "samples", window, cpu_s, server_s, work / "host")


def run_aiohttp(url: str, server_pid: int, streams: int, seconds: float, work: Path) -> Result:
    argv = [sys.executable, str(HERE / "aiohttp_client.py"), "--url", url, "--users", str(streams), "--duration",
            str(WARMUP_S + seconds + 2), "--max-tokens", str(TOKENS), "--out", str(work / "samples")]  # fmt: skip
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        window, cpu_s, server_s = measure(proc.pid, server_pid, seconds, work / "host")
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return analyse(NAMES["aiohttp"], streams, work / "samples", window, cpu_s, server_s, work / "host")


def median(results: list[Result]) -> Result:
    """Each figure's median over the runs (starved seconds: their sum)."""
    first = results[0]
    values = {f.name: statistics.median(getattr(r, f.name) for r in results) for f in fields(Result)
              if f.name not in ("client", "streams", "starved_s")}  # fmt: skip
    return Result(first.client, first.streams, **values, starved_s=sum(r.starved_s for r in results))


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per client and concurrency")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1, help="Locust processes")
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    args = parser.parse_args(argv)
    runs: dict[tuple[str, int], list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="chaosllm-bench-") as tmp:
        server, url = start_calibration_server(Path(tmp), subprocess.DEVNULL)
        try:
            for n in range(args.runs):
                for streams in args.streams:
                    for client in args.clients:
                        work = Path(tmp) / f"{client}-{streams}-{n}"
                        if client == "aiohttp":
                            result = run_aiohttp(url, server.pid, streams, args.seconds, work)
                        else:
                            result = run_locust(client, url, server.pid, streams, args.seconds, work, args.processes)
                        runs.setdefault((client, streams), []).append(result)
                        print(f"run {n + 1}: {result}", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait()
    results = [median(r) for r in runs.values()]
    print(f"median of {args.runs} run(s), {args.seconds:g} s each, requests in starved seconds left out")
    print(
        f"{'client':<18} {'streams':>7} {'req/s':>7} {'events/s':>9} {'added TTFT p50':>15} {'p99 ms':>8} "
        f"{'ITL p50':>8} {'CPU s/1k ev':>12} {'CPU (cores)':>12} {'server CPU':>11} {'starved s':>10}"
    )
    for r in results:
        print(
            f"{r.client:<18} {r.streams:>7} {r.requests_s:>7.1f} {r.events_s:>9.0f} {r.overhead_p50_ms:>15.2f} "
            f"{r.overhead_p99_ms:>8.2f} {r.itl_p50_ms:>8.2f} {r.cpu_s_per_1k_events:>12.4f} {r.cpu_share:>12.2f} "
            f"{r.server_cpu_share:>11.2f} {r.starved_s:>10.1f}"
        )
    for streams in args.streams:
        by = {c: next((r for r in results if r.streams == streams and r.client.startswith(NAMES[c])), None)
              for c in CLIENTS}  # fmt: skip
        ours = by["socket"]
        for other in ("fasthttp", "aiohttp"):
            base = by[other]
            if ours is not None and base is not None:
                print(
                    f"{streams} streams: socket / {NAMES[other]}: CPU per event "
                    f"x{ours.cpu_s_per_1k_events / base.cpu_s_per_1k_events:.2f}, "
                    f"added TTFT p99 x{ours.overhead_p99_ms / base.overhead_p99_ms:.2f}"
                )
    return results


if __name__ == "__main__":
    main()
