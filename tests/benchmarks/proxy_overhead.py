"""Benchmark: what the fault proxy adds with no fault, and how exactly it delays when asked to.

An echo server and the proxy (one link in front of it) each run in their own process; the client runs
here on uvloop, over loopback with TCP_NODELAY.

- Added latency: 64-byte round trips on one connection, direct to the echo server and through the
  proxy, in alternating blocks (A B A B ...) so that drift of this machine hits both alike.
- Added throughput cost: one connection streams 256 KiB writes for a few seconds while it reads the
  echo back, direct and through the proxy, alternating; MB/s echoed, and the proxy's CPU per GB.
- Delay accuracy: 100 ms injected on the link (direction ``to``) while 20 connections make round trips
  at once, their starts spread over 100 ms; error = round trip - 100 ms - the proxy's own median round
  trip with no fault.

    .venv/bin/python -m tests.benchmarks.proxy_overhead [--round-trips 3000] [--blocks 3] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext._eventloop import run
from chaoslib_ext.proxy import Delay, Direction, ProxyClient, ProxyFault
from tests.integration.helpers import running

PAYLOAD = b"x" * 64
CHUNK = b"y" * (256 * 1024)
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
INJECTED_MS = 100.0


@dataclass
class Figures:
    direct_p50_ms: float
    direct_p99_ms: float
    proxy_p50_ms: float
    proxy_p99_ms: float
    direct_mb_s: float
    proxy_mb_s: float
    proxy_cpu_s_per_gb: float
    delay_samples: int
    delay_error_p50_ms: float
    delay_error_p99_ms: float
    delay_abs_error_p99_ms: float
    timer_late_p50_ms: float
    timer_late_p99_ms: float

    @property
    def added_p50_ms(self) -> float:
        return self.proxy_p50_ms - self.direct_p50_ms

    @property
    def added_p99_ms(self) -> float:
        return self.proxy_p99_ms - self.direct_p99_ms


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def _round_trips(port: int, n: int, start_after_s: float = 0.0) -> list[float]:
    await asyncio.sleep(start_after_s)
    reader, writer = await _connect(port)
    out = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            writer.write(PAYLOAD)
            await reader.readexactly(len(PAYLOAD))
            out.append((time.perf_counter() - start) * 1000)
    finally:
        writer.close()
    return out


async def round_trips(port: int, n: int, connections: int = 1, spread_s: float = 0.0) -> list[float]:
    """Round-trip times in ms: ``connections`` connections at once, ``n`` sequential trips each, their
    starts spread evenly over ``spread_s`` (so that they do not all wait on the same timer tick)."""
    starts = [i * spread_s / connections for i in range(connections)]
    results = await asyncio.gather(*(_round_trips(port, n, s) for s in starts))
    return [x for r in results for x in r[1:]]  # the first trip of a connection pays for the connect


async def _sleeps(n: int, start_after_s: float) -> list[float]:
    await asyncio.sleep(start_after_s)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await asyncio.sleep(INJECTED_MS / 1000)
        out.append((time.perf_counter() - start) * 1000 - INJECTED_MS)
    return out


async def timer_lateness(n: int, tasks: int = 20) -> list[float]:
    """How late this process wakes from a 100 ms sleep (ms), as the delay test's tasks would: the
    floor of any delay accuracy measured on this machine."""
    results = await asyncio.gather(*(_sleeps(n, i * INJECTED_MS / 1000 / tasks) for i in range(tasks)))
    return [x for r in results for x in r]


async def throughput_mb_s(port: int, seconds: float) -> float:
    """MB/s echoed back on one connection that writes as fast as the other side takes."""
    reader, writer = await _connect(port)
    received = 0
    deadline = time.perf_counter() + seconds

    async def write() -> None:
        while (left := deadline - time.perf_counter()) > 0:
            writer.write(CHUNK)
            try:
                await asyncio.wait_for(writer.drain(), left)
            except TimeoutError:
                break

    async def read() -> None:
        nonlocal received
        while (left := deadline - time.perf_counter()) > 0:
            try:
                received += len(await asyncio.wait_for(reader.read(1 << 20), left))
            except TimeoutError:
                break

    start = time.perf_counter()
    await asyncio.gather(write(), read())
    elapsed = time.perf_counter() - start
    writer.close()
    return received / elapsed / 1e6


def measure(echo_port: int, proxy_port: int, proxy_pid: int, client: ProxyClient, args: argparse.Namespace) -> Figures:
    direct: list[float] = []
    proxied: list[float] = []
    direct_tp: list[float] = []
    proxy_tp: list[float] = []
    proxy_cpu = 0.0
    for _ in range(args.blocks):  # A B A B ...: drift of the machine lands on both
        direct += run(round_trips(echo_port, args.round_trips))
        proxied += run(round_trips(proxy_port, args.round_trips))
        direct_tp.append(run(throughput_mb_s(echo_port, args.seconds)))
        before = cpu_s(proxy_pid)
        proxy_tp.append(run(throughput_mb_s(proxy_port, args.seconds)))
        proxy_cpu += cpu_s(proxy_pid) - before
    proxy_gb = float(np.mean(proxy_tp)) * args.seconds * args.blocks / 1000 * 2  # read and written back
    baseline_ms = float(np.percentile(proxied, 50))
    client.set_fault("echo", "bench", ProxyFault(Direction.TO, 300, delay=Delay(INJECTED_MS)))
    try:
        trips = round_trips(proxy_port, args.delay_trips, connections=20, spread_s=INJECTED_MS / 1000)
        delayed = np.array(run(trips))
    finally:
        client.remove_fault("echo", "bench")
    error = delayed - INJECTED_MS - baseline_ms
    late = run(timer_lateness(args.delay_trips))
    return Figures(
        direct_p50_ms=float(np.percentile(direct, 50)),
        direct_p99_ms=float(np.percentile(direct, 99)),
        proxy_p50_ms=baseline_ms,
        proxy_p99_ms=float(np.percentile(proxied, 99)),
        direct_mb_s=float(np.mean(direct_tp)),
        proxy_mb_s=float(np.mean(proxy_tp)),
        proxy_cpu_s_per_gb=proxy_cpu / proxy_gb if proxy_gb else float("nan"),
        delay_samples=len(error),
        delay_error_p50_ms=float(np.percentile(error, 50)),
        delay_error_p99_ms=float(np.percentile(error, 99)),
        delay_abs_error_p99_ms=float(np.percentile(np.abs(error), 99)),
        timer_late_p50_ms=float(np.percentile(late, 50)),
        timer_late_p99_ms=float(np.percentile(late, 99)),
    )


def report(f: Figures, args: argparse.Namespace) -> None:
    n = args.round_trips * args.blocks
    print(f"round trips, 64 B, one connection ({n} each, {args.blocks} alternating blocks):")
    print(f"  direct      p50 {f.direct_p50_ms:.3f} ms   p99 {f.direct_p99_ms:.3f} ms")
    print(f"  via proxy   p50 {f.proxy_p50_ms:.3f} ms   p99 {f.proxy_p99_ms:.3f} ms")
    print(f"  added       p50 {f.added_p50_ms:.3f} ms   p99 {f.added_p99_ms:.3f} ms   (target: added p50 <= 0.2 ms)")
    print(f"throughput, one connection, 256 KiB writes, echoed ({args.blocks} x {args.seconds:g} s each):")
    print(f"  direct      {f.direct_mb_s:.0f} MB/s")
    print(
        f"  via proxy   {f.proxy_mb_s:.0f} MB/s ({f.proxy_mb_s / f.direct_mb_s:.0%} of direct), "
        f"proxy CPU {f.proxy_cpu_s_per_gb:.2f} s per GB relayed"
    )
    print(f"delay accuracy, {INJECTED_MS:g} ms injected, 20 connections at once ({f.delay_samples} round trips):")
    print(
        f"  error p50 {f.delay_error_p50_ms:+.3f} ms   p99 {f.delay_error_p99_ms:+.3f} ms   "
        f"|error| p99 {f.delay_abs_error_p99_ms:.3f} ms   (target: error p99 <= 2 ms)"
    )
    print(
        f"  this machine's floor: a 100 ms asyncio.sleep in 20 tasks wakes late by p50 "
        f"{f.timer_late_p50_ms:.3f} ms, p99 {f.timer_late_p99_ms:.3f} ms"
    )


def main(argv: list[str] | None = None) -> Figures:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.proxy_overhead", description=__doc__)
    parser.add_argument("--round-trips", type=int, default=3000, help="per block and path")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput block")
    parser.add_argument("--delay-trips", type=int, default=50, help="per connection, 20 connections")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="proxy-bench-") as tmp:
        work = Path(tmp)
        with running(["tests.benchmarks.echo_server"], work, "echo") as (_, echo):
            link = f"echo=127.0.0.1:{echo['port']}"
            with running(["chaoslib_ext.proxy", "--link", link], work, "proxy") as (proxy, info):
                proxy_port = int(info["links"]["echo"]["listen"].rsplit(":", 1)[1])
                client = ProxyClient(info["control_url"])
                figures = measure(echo["port"], proxy_port, proxy.pid, client, args)
    report(figures, args)
    return figures


if __name__ == "__main__":
    main()
