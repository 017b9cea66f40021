"""Benchmark: does ``chaosllm sweep`` find the same knee on the sandbox, run after run?

``--runs`` sweeps of the sandbox (v1, max_tokens 32, TTFT P99 <= 500 ms and error rate <= 1 % at the
95 % bound; from 8 req/s, ``--step`` a step, 5 % resolution) on a sandbox of its own. Prints each
sweep's steps and knee, then the knees' median and spread (max / min - 1; the target is within 10 %).

    .venv/bin/python -m tests.benchmarks.sweep_repeat [--runs 3] [--step 10s] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.benchmarks.own_sandbox import CHAOSLLM, own_sandbox

SLOS = ("ttft_ms.p99<=500", "error_rate<=0.01")


def one_sweep(out: Path, step: str, env: dict[str, str]) -> dict:
    cmd = [*CHAOSLLM, "sweep", "--target", "sandbox", "--model", "sandbox-v1", "--max-tokens", "32",
           "--start", "8", "--step", step, "--out", str(out)]  # fmt: skip
    for slo in SLOS:
        cmd += ["--slo", slo]
    code = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True, timeout=1800).returncode
    if code not in (0, 1):
        raise SystemExit(f"sweep exited {code}: {' '.join(cmd)}")
    return json.loads((out / "sweep.json").read_text())


def main(argv: list[str] | None = None) -> list[float | None]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step", default="10s")
    parser.add_argument("--keep", type=Path, help="keep the sweep directories here")
    args = parser.parse_args(argv)
    knees: list[float | None] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "sweeps"
        with own_sandbox(Path(tmp), out / "history.sqlite") as env:
            for i in range(1, args.runs + 1):
                began = time.monotonic()
                record = one_sweep(out / f"sweep-{i}", args.step, env)
                steps = ", ".join(
                    f"{s['rate_rps']:.3g}{'' if s['passed'] else 'x'}" for s in record["steps"]
                )  # x: failed
                knees.append(record["knee_rps"])
                print(
                    f"sweep {i} ({time.monotonic() - began:.0f} s): steps {steps}; knee {record['knee_rps']}",
                    flush=True,
                )
    found = [k for k in knees if k is not None]
    if found:
        spread = max(found) / min(found) - 1.0
        print(
            f"knees {', '.join(f'{k:.4g}' for k in found)}: median {statistics.median(found):.4g} req/s, "
            f"spread {spread:.1%}"
            f" (max / min - 1), {len(found)} of {len(knees)} sweeps found one"
        )
    return knees


if __name__ == "__main__":
    main()
