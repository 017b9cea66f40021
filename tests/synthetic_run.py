"""A run directory with generated samples: what ``chaosllm run`` leaves, without running anything.

For tests and benchmarks of the reports: the samples go through the real SampleWriter format, the
timeline and ledger through their real classes; ``chaosllm report`` then measures them as any run.
Baseline 30 s, a fault of ``fault_s`` that adds ``fault_ttft_ms`` to TTFT, then recovery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext.run.ledger import Ledger, LedgerEntry
from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.samples import REQUEST
from chaoslib_ext.samples.format import declare_format

HYPOTHESES = [
    {"name": "baseline TTFT p99 under 200 ms", "phase": "baseline", "metric": "ttft_ms.p99", "expect": "< 200"},
    {"name": "throughput holds", "phase": "fault", "metric": "output_throughput_tps", "expect": ">= 70% of baseline"},
    {"name": "fault TTFT p99 under 250 ms", "phase": "fault", "metric": "ttft_ms.p99", "expect": "< 250"},
    {
        "name": "recovered",
        "phase": "recovery",
        "metric": "ttft_ms.p99",
        "expect": "within 10% of baseline",
        "after": "2s",
    },
]


@dataclass(frozen=True)
class Shape:
    requests: int = 3000
    tokens: int = 16  # content events per request
    seconds: float = 90.0  # of load after warmup: a third baseline, a third fault, a third recovery
    fault_ttft_ms: float = 150.0
    ttft_ms: float = 60.0
    error_rate: float = 0.01


def make_run(
    root: Path, started_at: float, shape: Shape = Shape(), title: str = "Synthetic Redis stall", seed: int = 1
) -> Path:
    run = root / f"{int(started_at)}-synthetic"
    (run / "samples").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    warmup, third = 2.0, shape.seconds / 3
    begin = started_at + warmup
    fault = (begin + third, begin + 2 * third)
    experiment = {"title": title, "extensions": [{"name": "chaosllm", "load": {"users": 8, "max_tokens": shape.tokens},
                                                  "hypotheses": HYPOTHESES}]}  # fmt: skip
    (run / "experiment.json").write_text(
        json.dumps({"experiment": experiment, "configuration": {"chaosllm_target": "synthetic"}})
    )
    timeline = Timeline(run / "timeline.json")
    timeline.record_load_started("http://127.0.0.1:1", 8, warmup, at=started_at)
    timeline.record_fault_injected("stall-redis", "redis", "redis 127.0.0.1:1", {}, {}, at=fault[0])
    timeline.record_note("operator: paging looks fine", at=fault[0] + 5)
    timeline.record_fault_removed("stall-redis", at=fault[1])
    timeline.record_load_stopped(at=begin + shape.seconds)
    ledger = Ledger(run / "ledger.json")
    ledger.add(LedgerEntry("stall-redis", "redis", "redis", "redis 127.0.0.1:1", {}, {}, state="removed",
                           created_at=fault[0] - 0.004, injected_at=fault[0], removed_at=fault[1]))  # fmt: skip
    _write_samples(run / "samples", rng, begin, fault, shape)
    return run


def _write_samples(
    directory: Path, rng: np.random.Generator, begin: float, fault: tuple[float, float], shape: Shape
) -> None:
    n, gaps_per = shape.requests, shape.tokens - 1
    records = np.zeros(n, dtype=REQUEST)
    t0 = np.sort(rng.uniform(begin, begin + shape.seconds, n))
    in_fault = (t0 >= fault[0]) & (t0 < fault[1])
    ttft = rng.gamma(9.0, shape.ttft_ms / 9.0, n) + np.where(in_fault, shape.fault_ttft_ms, 0.0)
    gaps = rng.gamma(16.0, 12.0 / 16.0, (n, gaps_per)).astype(np.float32)
    ok = rng.random(n) >= shape.error_rate
    records["t0"], records["ttft_ms"] = t0, ttft
    records["e2el_ms"] = ttft + gaps.sum(axis=1, dtype=np.float64)
    records["done_ms"] = records["e2el_ms"] + 1.0
    records["server_ttft_ms"] = ttft - rng.gamma(4.0, 0.5, n)
    records["tokens"] = records["events"] = shape.tokens
    records["gaps"], records["status"], records["ok"] = gaps_per, np.where(ok, 200, 503), ok
    records["sched_t0"] = np.nan  # a closed loop
    declare_format(directory)
    records.tofile(directory / "samples-1.req")
    gaps.tofile(directory / "samples-1.itl")
    with (directory / "samples-1.err.jsonl").open("w") as err:
        for i in np.flatnonzero(~ok):
            err.write(json.dumps({"n": int(i), "error": "HTTP 503"}) + "\n")
