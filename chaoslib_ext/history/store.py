"""The run history: one row per run, one row per (run, metric), in SQLite.

The store is ``$CHAOSLLM_HISTORY`` if set, else ``history.sqlite`` beside the run directories
(``reports/history.sqlite``). A run is recorded when its reports are written; writing them again
(``chaosllm report``) replaces its rows, so a run is never counted twice. Metrics are named
``<phase>.<metric>[.<stat>]`` (``fault.ttft_ms.p99``) plus ``resilience.score``. A capacity sweep
(``chaosllm sweep``) adds one row to ``sweeps``: its endpoint, model and knee, so an experiment can
load at a share of the latest knee of the same endpoint and model.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["ENV", "History", "HistoryRun", "SweepEntry", "flatten", "history_path"]

ENV = "CHAOSLLM_HISTORY"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, started_at REAL, target TEXT,
    verdict TEXT NOT NULL, exit_code INTEGER NOT NULL, hypotheses TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, name TEXT NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, started_at);
CREATE TABLE IF NOT EXISTS sweeps (
    path TEXT PRIMARY KEY, endpoint TEXT NOT NULL, model TEXT NOT NULL, finished_at REAL NOT NULL, knee_rps REAL
);
"""


def history_path(runs_root: Path) -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else runs_root / "history.sqlite"


@dataclass(frozen=True)
class HistoryRun:
    """One recorded run: when, against what, how it ended, and every number it measured."""

    run_id: str
    started_at: float | None
    target: str | None
    verdict: str
    exit_code: int
    metrics: dict[str, float]


def flatten(summary: RunSummary) -> dict[str, float]:
    """Every number of every phase, as ``phase.metric[.stat]``, and the resilience score."""
    out: dict[str, float] = {}
    for phase, metrics in summary.phases.items():
        for name, value in metrics.to_json().items():
            if isinstance(value, dict):
                out.update({f"{phase}.{name}.{k}": float(v) for k, v in value.items() if isinstance(v, int | float)})
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{phase}.{name}"] = float(value)
    if summary.resilience.score is not None:
        out["resilience.score"] = float(summary.resilience.score)
    return out


@dataclass(frozen=True)
class SweepEntry:
    """One capacity sweep: where it is, what it loaded (endpoint URL without credentials, model) and its knee."""

    path: str
    endpoint: str
    model: str  # "" when the load named none (the server's default)
    finished_at: float
    knee_rps: float | None


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(_SCHEMA)
            with db:
                yield db

    def record(self, summary: RunSummary) -> None:
        """Record a run (replacing an earlier record of it); registered secrets are scrubbed from its text."""
        hypotheses = [{"name": h.name, "status": h.status, "observed": h.observed} for h in summary.hypotheses]
        run_id = summary.run_id
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, scrub(summary.experiment or summary.name), summary.started_at,
                 None if summary.target is None else scrub(summary.target), summary.outcome.verdict,
                 summary.outcome.exit_code, scrub(json.dumps(hypotheses))),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)", [(run_id, k, v) for k, v in flatten(summary).items()]
            )

    def experiments(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def runs(self, experiment: str, last: int = 20) -> list[HistoryRun]:
        """The last ``last`` runs of ``experiment``, oldest first, each with every metric."""
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT run_id, started_at, target, verdict, exit_code FROM runs WHERE experiment = ? "
                "ORDER BY started_at DESC, run_id DESC LIMIT ?",
                (experiment, last),
            ).fetchall()
            out = []
            for run_id, started_at, target, verdict, exit_code in reversed(rows):
                metrics = dict(db.execute("SELECT name, value FROM metrics WHERE run_id = ?", (run_id,)).fetchall())
                out.append(HistoryRun(run_id, started_at, target, verdict, exit_code, metrics))
            return out

    def record_sweep(self, entry: SweepEntry) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO sweeps VALUES (?, ?, ?, ?, ?)",
                (entry.path, scrub(entry.endpoint), entry.model, entry.finished_at, entry.knee_rps),
            )

    def sweeps(self) -> list[SweepEntry]:
        """Every recorded sweep, latest first."""
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute("SELECT * FROM sweeps ORDER BY finished_at DESC").fetchall()
        return [SweepEntry(*row) for row in rows]
