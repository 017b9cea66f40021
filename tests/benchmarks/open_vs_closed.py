"""Benchmark: what a capacity cut looks like in a closed loop and in an open loop at the same rate.

Each of ``--runs`` rounds runs experiments/sandbox/kafka-throttle.yaml (8 closed-loop users; the Kafka
broker's egress to consumers throttled for 15 s), reads its baseline completion rate R, and runs
experiments/sandbox/kafka-throttle-open-loop.yaml at R req/s (Poisson). It prints, per round, the
closed loop's fault-phase TTFT P99 and the open loop's fault-phase TTFT P99 measured from the
scheduled send time (ttft_sched_ms), their ratio, and the offered vs achieved rate per phase; then the
medians. On a sandbox of its own (``chaosllm sandbox up`` in a temporary state directory).

    .venv/bin/python -m tests.benchmarks.open_vs_closed [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.own_sandbox import own_sandbox, run_experiment

ROOT = Path(__file__).resolve().parents[2]
CLOSED = ROOT / "experiments" / "sandbox" / "kafka-throttle.yaml"
OPEN = ROOT / "experiments" / "sandbox" / "kafka-throttle-open-loop.yaml"


@dataclass
class Round:
    rate: float
    closed_p99: float
    open_sched_p99: float
    open_ttft_p99: float
    rates: dict[str, tuple[float, float]]  # phase -> (offered, achieved) of the open loop

    @property
    def ratio(self) -> float:
        return self.open_sched_p99 / self.closed_p99


def _phases(run: Path) -> dict[str, dict]:
    return json.loads((run / "summary.json").read_text())["phases"]


def one_round(out: Path, env: dict[str, str]) -> Round:
    closed = _phases(run_experiment(CLOSED, out / "closed", env))
    rate = round(closed["baseline"]["request_throughput_rps"], 2)
    opened = _phases(run_experiment(OPEN, out / "open", env, f"rate:float={rate}"))
    rates = {
        p: (opened[p]["arrivals"]["offered_rate_rps"], opened[p]["arrivals"]["achieved_rate_rps"])
        for p in ("baseline", "fault", "recovery")
    }
    return Round(
        rate,
        closed["fault"]["ttft_ms"]["p99"],
        opened["fault"]["arrivals"]["ttft_sched_ms"]["p99"],
        opened["fault"]["ttft_ms"]["p99"],
        rates,
    )


def main(argv: list[str] | None = None) -> list[Round]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the run directories here")
    args = parser.parse_args(argv)
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "runs"
        with own_sandbox(Path(tmp), out / "history.sqlite") as env:
            for i in range(1, args.runs + 1):
                r = one_round(out, env)
                rounds.append(r)
                shown = ", ".join(f"{p} {o:.1f}/{a:.1f}" for p, (o, a) in r.rates.items())
                print(
                    f"round {i}: closed baseline {r.rate:.2f} req/s; fault TTFT p99 closed {r.closed_p99:.0f} ms, "
                    f"open from schedule {r.open_sched_p99:.0f} ms (x{r.ratio:.1f}; from send {r.open_ttft_p99:.0f} "
                    f"ms); open offered/achieved req/s: {shown}",
                    flush=True,
                )
    if rounds:
        med = statistics.median
        print(
            f"median of {len(rounds)}: closed fault TTFT p99 {med(r.closed_p99 for r in rounds):.0f} ms, open fault "
            f"ttft_sched p99 {med(r.open_sched_p99 for r in rounds):.0f} ms, ratio x{med(r.ratio for r in rounds):.1f}"
            f"; open loop larger in {sum(r.ratio > 1 for r in rounds)} of {len(rounds)}"
        )
    return rounds


if __name__ == "__main__":
    main()
