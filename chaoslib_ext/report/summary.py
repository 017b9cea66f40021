"""``summary.json``: the metrics of every phase, each hypothesis with its verdict and numbers, the
faults, the outcome, the resilience score and the environment. Versioned: consumers check ``schema``
and ``version``; the JSON schema is ``schemas/summary.schema.json`` beside this module."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.faults.ledger import LedgerEntry
from chaoslib_ext.hypotheses.evaluate import evaluate
from chaoslib_ext.load.host import STARVED_STEAL, read_host
from chaoslib_ext.metrics import SampleTable, Window, distribution, phase_windows, window_metrics
from chaoslib_ext.metrics.gaps import GapIndex
from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.outcome import decide
from chaoslib_ext.report.environment import environment
from chaoslib_ext.report.score import resilience_score
from chaoslib_ext.report.series import bucket_grid
from chaoslib_ext.runcontext import RunContext

__all__ = ["SCHEMA", "SCHEMA_PATH", "VERSION", "Measured", "build_summary", "measure"]

SCHEMA = "chaosllm/summary"
VERSION = 3
SCHEMA_PATH = Path(__file__).with_name("schemas") / "summary.schema.json"


@dataclass(frozen=True)
class Measured:
    """The raw samples of a run and the windows they are measured in."""

    table: SampleTable
    window: tuple[float, float] | None  # load start + warmup, load stop
    windows: dict[str, Window]  # per phase; empty when the load never ran
    index: GapIndex  # the gaps of every phase and hypothesis window, and tokens per time bucket
    buckets: tuple[float, float, int]  # (start, width, count) of the time series


def measure(run: RunContext, plan: Plan) -> Measured:
    """Read the samples and index their gaps in one pass for every window the report will ask about."""
    table = SampleTable.from_directory(run.run_dir.samples)
    window = run.timeline.measure_window()
    windows = phase_windows(window[0], window[1], run.timeline.fault_intervals()) if window else {}
    asked = list(windows.values()) + [
        windows[h.phase].after(h.after_s) for h in plan.hypotheses if h.after_s and h.phase in windows
    ]
    buckets = bucket_grid(*window) if window else (0.0, 1.0, 0)
    return Measured(table, window, windows, GapIndex(table, asked, buckets), buckets)


def build_summary(
    run: RunContext, plan: Plan, title: str, journal: dict[str, Any] | None, measured: Measured | None = None
) -> dict[str, Any]:
    """Compute everything from the raw samples and the timeline of ``run``."""
    measured = measured or measure(run, plan)
    table, window, windows = measured.table, measured.window, measured.windows
    timeline = run.timeline
    goodput = plan.load.goodput if plan.load else None
    measured_phases: dict[str, PhaseMetrics] = {}
    verdicts: list[dict[str, Any]] = []
    if window is not None:
        index = measured.index
        measured_phases = {name: window_metrics(table, w, goodput, index) for name, w in windows.items()}

        def trimmed(phase: str, after_s: float) -> PhaseMetrics:
            return window_metrics(table, windows[phase].after(after_s), goodput, index)

        verdicts = [evaluate(h, measured_phases, trimmed).to_json() for h in plan.hypotheses]
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
    phases = {name: dict(m.to_json()) for name, m in measured_phases.items()}
    outcome = decide(timeline.events(), verdicts, journal)
    overhead = table.ttft_ms - table.server_ttft_ms
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "run_id": run.run_dir.run_id,
        "title": title,
        "experiment": title,
        "target": run.target_ref,
        "started_at": _started_at(timeline.events()),
        "written_at": time.time(),
        "outcome": outcome.to_json(),
        "load": plan.load.to_json() if plan.load else None,
        "window": {"start_at": window[0], "end_at": window[1]} if window else None,
        "phases": phases,
        "hypotheses": verdicts,
        "faults": [_fault(e) for e in run.ledger.entries()],
        "client_overhead_ms": distribution(overhead).to_json() if np.any(~np.isnan(overhead)) else None,
        "load_host": _load_host(run, windows),
        "resilience": resilience_score(phases),
        "environment": environment(run.run_dir.environment),
    }


def _load_host(run: RunContext, windows: dict[str, Window]) -> dict[str, Any] | None:
    """The load generator's CPU per phase (chaoslib_ext.load.host); None when it was not recorded."""
    series = read_host(run.run_dir.samples)
    if series is None:
        return None
    phases = {name: series.during(w.intervals).summary() for name, w in windows.items()}
    return {"starved_steal": STARVED_STEAL, "phases": phases}


def _fault(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry without its undo, with the time from recording the undo to the fault taking effect."""
    fault = {k: v for k, v in asdict(entry).items() if k != "undo"}
    took = entry.details.get("time_to_inject_s")
    if took is None and entry.injected_at is not None:
        took = entry.injected_at - entry.created_at
    fault["time_to_inject_s"] = took
    return fault


def _started_at(events: list[dict[str, Any]]) -> float | None:
    return float(events[0]["at"]) if events else None
