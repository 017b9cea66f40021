"""Benchmark: does the game day console keep up at the demo load without costing the load client?

Each of ``--runs`` rounds runs the demo's load (experiments/sandbox/redis-latency.yaml: 16 streaming
users, 32 tokens each, a 200 ms Redis delay) twice on a sandbox of its own, once alone and once with
the console attached (``chaosllm console RUN_DIR`` in a real terminal: tmux, 180x50, redrawing every
second from ``GET /status``), in alternating order. Per run it reads the load client's own lag as the
runs measure it (``samples/lag.jsonl``: how late each load process's 50 Hz timer fired) over the
measured window, leaving out every second the hypervisor starved (steal >= 20 %, ``samples/host.jsonl``),
and reports its p99; and the console's CPU (its process group, /proc) per second of the run. Then the
medians, and the difference: the target is within 1 ms.

    .venv/bin/python -m tests.benchmarks.console_lag [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext.samples.host import read_host
from chaoslib_ext.samples.lag import read_lag
from tests.benchmarks.own_sandbox import CHAOSLLM, own_sandbox
from tests.integration.helpers import process_group

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "experiments" / "sandbox" / "redis-latency.yaml"


@dataclass
class Run:
    console: bool
    lag_p99_ms: float
    lag_p50_ms: float
    seconds: float  # measured seconds kept (starved ones left out)
    starved_s: float
    console_cpu: float | None  # the console's CPU seconds per second of the run (a share of one core)


def client_lag(run: Path) -> tuple[float, float, float, float]:
    """(p99, p50, seconds kept, seconds starved) of the load client's lag over the measured window."""
    summary = json.loads((run / "summary.json").read_text())
    window = (summary["window"]["start_at"], summary["window"]["end_at"])
    lag = read_lag(run / "samples")
    host = read_host(run / "samples")
    assert lag is not None, f"{run}: no lag.jsonl"
    lag = lag.during((window,))
    starved = host.during((window,)).starved() if host is not None else []
    keep = np.ones(lag.end.shape, dtype=np.bool_)
    for a, b in starved:
        keep &= ~((lag.end > a) & (lag.start < b))
    values = lag.lag_ms[keep[lag.owner]]
    kept = float((lag.end - lag.start)[keep].sum()) / max(1, len(set(lag.pid.tolist())))
    return float(np.percentile(values, 99)), float(np.percentile(values, 50)), kept, sum(b - a for a, b in starved)


def _cpu_ticks(pgid: int) -> int:
    return sum(process_group(pgid).values())


def one_run(out: Path, env: dict[str, str], console: bool) -> Run:
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    proc = subprocess.Popen([*CHAOSLLM, "run", str(DEMO), "--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    session, pgid, cpu0, started = f"chaosllm-bench-{os.getpid()}", 0, 0, time.monotonic()
    try:
        run = _new_run(out, before, proc)
        if console:
            command = f"cd {ROOT} && {' '.join(CHAOSLLM)} console {run}"
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "180", "-y", "50", command], check=True,
                           env=env)  # fmt: skip
            pid = int(subprocess.run(["tmux", "display", "-p", "-t", session, "#{pane_pid}"], capture_output=True,
                                     text=True, check=True).stdout)  # fmt: skip
            pgid, cpu0, started = os.getpgid(pid), _cpu_ticks(os.getpgid(pid)), time.monotonic()
        proc.wait(timeout=600)
        cpu = (_cpu_ticks(pgid) - cpu0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - started) if console else None
    finally:
        if console:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        if proc.poll() is None:
            proc.kill()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"the demo run exited {proc.returncode}: {run}")
    p99, p50, kept, starved = client_lag(run)
    return Run(console, p99, p50, kept, starved, cpu)


def _new_run(out: Path, before: set[str], proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        for p in out.iterdir():
            if p.name not in before and (p / "control.json").exists():
                return p
        time.sleep(0.1)
    raise SystemExit("the demo run never opened its control endpoint")


def main(argv: list[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the run directories here")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed (Debian: apt-get install tmux)")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "runs"
        with own_sandbox(Path(tmp), out / "history.sqlite") as env:
            for i in range(args.runs):
                for console in (i % 2 == 0, i % 2 == 1):  # alternate which goes first
                    r = one_run(out / ("with" if console else "without"), env, console)
                    runs.append(r)
                    cpu = "" if r.console_cpu is None else f"; console CPU {r.console_cpu:.3f} s/s"
                    print(f"round {i + 1}, {'with' if console else 'without'} the console: client lag p99 "
                          f"{r.lag_p99_ms:.2f} ms, p50 {r.lag_p50_ms:.2f} ms over {r.seconds:.0f} s "
                          f"({r.starved_s:.0f} s starved, left out){cpu}", flush=True)  # fmt: skip
    med = statistics.median
    with_c, without = [r for r in runs if r.console], [r for r in runs if not r.console]
    a, b = med(r.lag_p99_ms for r in with_c), med(r.lag_p99_ms for r in without)
    cpu = med(r.console_cpu or 0.0 for r in with_c)
    print(f"median of {len(with_c)}: client lag p99 with the console {a:.2f} ms, without {b:.2f} ms: "
          f"{a - b:+.2f} ms (target within 1 ms: {'met' if abs(a - b) <= 1.0 else 'NOT met'}); "
          f"the console's CPU {cpu:.3f} s/s")  # fmt: skip
    return runs


if __name__ == "__main__":
    main()
