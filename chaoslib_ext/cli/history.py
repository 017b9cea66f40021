"""``chaosllm history``: the trend of chosen metrics per experiment, with drift flagged on the newest run.

Exit 0, or 1 with ``--fail-on-drift`` when a chosen metric of an experiment's newest run drifted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from chaoslib_ext.history import Drift, History, history_path, judge
from chaoslib_ext.run.rundir import DEFAULT_ROOT
from chaoslib_ext.verdict.outcome import EXIT_FAILED, EXIT_INVALID, EXIT_OK

__all__ = ["DEFAULT_METRICS", "register"]

DEFAULT_METRICS = (
    "baseline.ttft_ms.p99",
    "fault.ttft_ms.p99",
    "fault.output_throughput_tps",
    "recovery.ttft_ms.p99",
    "resilience.score",
)


def register(commands: Any) -> None:
    parser = commands.add_parser("history", help="trend of metrics across runs of each experiment, drift flagged")
    parser.add_argument("--db", type=Path, help="history store (default: $CHAOSLLM_HISTORY or reports/history.sqlite)")
    parser.add_argument("--experiment", action="append", help="only this experiment (its title); repeatable")
    parser.add_argument(
        "--metric", action="append", help=f"phase.metric[.stat]; repeatable (default: {', '.join(DEFAULT_METRICS)})"
    )
    parser.add_argument("--last", type=int, default=10, help="runs shown per experiment (default 10)")
    parser.add_argument("--min-change", type=float, default=0.20, help="smallest relative change called drift (0.20)")
    parser.add_argument(
        "--fail-on-drift", action="store_true", help="exit 1 when the newest run of an experiment drifted"
    )
    parser.set_defaults(handler=_history)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _show(history: History, experiment: str, metrics: list[str], last: int, min_change: float) -> bool:
    runs = history.runs(experiment, max(last, 2))
    print(f"\n{experiment}  ({len(runs)} runs shown)")
    header = ["started (UTC)", "run", "verdict", *metrics]
    rows = [
        [time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.started_at or 0)), r.run_id, r.verdict,
         *(_cell(r.metrics.get(m)) for m in metrics)]
        for r in runs
    ]  # fmt: skip
    drifts = [judge([r.metrics.get(m) for r in runs], min_change=min_change) for m in metrics]
    rows.append(["", "drift (newest vs earlier)", "", *(_drift_text(d) for d in drifts)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return any(d.drifted for d in drifts)


def _drift_text(d: Drift) -> str:
    if d.drifted:
        return f"DRIFT {d.status} {d.change:+.0%}" if d.change is not None else f"DRIFT {d.status}"
    return d.status


def _history(args: argparse.Namespace) -> int:
    path = args.db or history_path(DEFAULT_ROOT)
    if not path.exists():
        print(f"chaosllm history: no history at {path} (runs record themselves there)", file=sys.stderr)
        return EXIT_INVALID
    history = History(path)
    known = history.experiments()
    wanted = args.experiment or known
    unknown = [e for e in wanted if e not in known]
    if unknown:
        print(f"chaosllm history: unknown experiment {unknown[0]!r} (known: {', '.join(known)})", file=sys.stderr)
        return EXIT_INVALID
    drifted = [e for e in wanted if _show(history, e, args.metric or list(DEFAULT_METRICS), args.last, args.min_change)]
    if drifted:
        print(f"\ndrift in: {', '.join(drifted)}")
    return EXIT_FAILED if drifted and args.fail_on_drift else EXIT_OK
