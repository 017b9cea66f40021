"""How long and how much memory ``chaosllm report`` takes on 1,000,000 request samples.

    .venv/bin/python -m tests.benchmarks.report_scale [--requests 1000000] [--tokens 32] [--runs 3]

Generates a run (a third baseline, a third fault, a third recovery; 4 hypotheses, one with ``after``)
in the real binary sample format, then times ``chaosllm report`` as a subprocess: wall time and peak
RSS of the whole command (interpreter start and imports included). The baseline, measured in the same
run on the same files, is the naive way: load every gap into memory and call numpy.percentile once
over them all (one window, not the report's ten). Targets: <= 5 s and <= 300 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.synthetic_run import Shape, make_run

NAIVE = """
import numpy as np, sys
from pathlib import Path
from chaoslib_ext.samples import REQUEST
d = Path(sys.argv[1])
records = np.fromfile(d / "samples-1.req", REQUEST)
gaps = np.fromfile(d / "samples-1.itl", "<f4").astype(np.float64)
print(np.percentile(gaps, [50, 90, 95, 99]), np.percentile(records["ttft_ms"], [50, 99]))
"""


def _measure(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    pid = os.fork()
    if pid == 0:  # the child execs; its rusage is read alone with wait4
        os.environ.update(env)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(argv[0], argv)
    start = time.perf_counter()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{argv} exited {status}")
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=32, help="content events per request (the demo asks for 32)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {"report_s": [], "report_mb": [], "naive_s": [], "naive_mb": []}
    with tempfile.TemporaryDirectory() as tmp:
        shape = Shape(requests=args.requests, tokens=args.tokens, seconds=max(90.0, args.requests / 280))
        t = time.perf_counter()
        run = make_run(Path(tmp), 1_795_300_000.0, shape)
        size = sum(f.stat().st_size for f in (run / "samples").iterdir()) / 1e6
        print(f"{args.requests:,} requests x {args.tokens} tokens: {size:.0f} MB of samples, generated in "
              f"{time.perf_counter() - t:.1f} s")  # fmt: skip
        env = {"CHAOSLLM_HISTORY": str(Path(tmp) / "history.sqlite")}
        python = sys.executable
        for i in range(args.runs):
            s, mb = _measure([python, "-m", "chaoslib_ext.cli.main", "report", str(run)], env)
            ns, nmb = _measure([python, "-c", NAIVE, str(run / "samples")], env)
            figures["report_s"].append(s)
            figures["report_mb"].append(mb)
            figures["naive_s"].append(ns)
            figures["naive_mb"].append(nmb)
            print(f"run {i + 1}: chaosllm report {s:.2f} s, {mb:.0f} MB peak RSS | naive all-in-memory percentile "
                  f"{ns:.2f} s, {nmb:.0f} MB | ratio time {s / ns:.2f}x, memory {mb / nmb:.2f}x")  # fmt: skip
    worst_s, worst_mb = max(figures["report_s"]), max(figures["report_mb"])
    verdict = "met" if worst_s <= 5 and worst_mb <= 300 else "NOT met"
    print(f"worst of {args.runs}: {worst_s:.2f} s, {worst_mb:.0f} MB (targets 5 s, 300 MB: {verdict})")
    return figures


if __name__ == "__main__":
    main()
