"""``summary.json``: the metrics of every phase, each hypothesis with its verdict and numbers, the
faults, and the outcome. Versioned: consumers check ``schema`` and ``version``."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np

from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.hypotheses.evaluate import evaluate
from chaoslib_ext.load.samples import read_samples
from chaoslib_ext.metrics import SampleTable, distribution, phase_windows, window_metrics
from chaoslib_ext.outcome import decide
from chaoslib_ext.runcontext import RunContext

__all__ = ["SCHEMA", "VERSION", "build_summary"]

SCHEMA = "chaosllm/summary"
VERSION = 1


def build_summary(run: RunContext, plan: Plan, title: str, journal: dict[str, Any] | None) -> dict[str, Any]:
    """Compute everything from the raw samples and the timeline of ``run``."""
    table = (
        SampleTable.from_samples(read_samples(run.run_dir.samples))
        if run.run_dir.samples.exists()
        else SampleTable.from_samples([])
    )
    timeline = run.timeline
    window = timeline.measure_window()
    goodput = plan.load.goodput if plan.load else None
    phases: dict[str, Any] = {}
    verdicts: list[dict[str, Any]] = []
    if window is not None:
        windows = phase_windows(window[0], window[1], timeline.fault_intervals())
        phases = {name: window_metrics(table, w, goodput) for name, w in windows.items()}

        def trimmed(phase: str, after_s: float) -> dict[str, Any]:
            return window_metrics(table, windows[phase].after(after_s), goodput)

        verdicts = [evaluate(h, phases, trimmed).to_json() for h in plan.hypotheses]
    else:
        verdicts = [
            {
                "name": h.name,
                "phase": h.phase,
                "metric": h.metric,
                "expect": h.expect.text,
                "status": "no-data",
                "passed": False,
                "observed": None,
                "message": "load never ran: nothing was measured",
            }
            for h in plan.hypotheses
        ]
    outcome = decide(timeline.events(), verdicts, journal)
    overhead = table.ttft_ms - table.server_ttft_ms
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "run_id": run.run_dir.run_id,
        "title": title,
        "target": run.target_ref,
        "written_at": time.time(),
        "outcome": outcome.to_json(),
        "load": plan.load.to_json() if plan.load else None,
        "window": {"start_at": window[0], "end_at": window[1]} if window else None,
        "phases": phases,
        "hypotheses": verdicts,
        "faults": [{k: v for k, v in asdict(e).items() if k != "undo"} for e in run.ledger.entries()],
        "client_overhead_ms": distribution(overhead) if np.any(~np.isnan(overhead)) else None,
    }
