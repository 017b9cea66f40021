"""The run history: one row per run, one row per (run, metric), in SQLite.

The store is ``$CHAOSLLM_HISTORY`` if set, else ``history.sqlite`` beside the run directories
(``reports/history.sqlite``). A run is recorded when its reports are written; writing them again
(``chaosllm report``) replaces its rows, so a run is never counted twice. Metrics are named
``<phase>.<metric>[.<stat>]`` (``fault.ttft_ms.p99``) plus ``resilience.score``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

__all__ = ["ENV", "History", "flatten", "history_path"]

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
"""


def history_path(runs_root: Path) -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else runs_root / "history.sqlite"


def flatten(summary: dict[str, Any]) -> dict[str, float]:
    """Every number of every phase, as ``phase.metric[.stat]``, and the resilience score."""
    out: dict[str, float] = {}
    for phase, metrics in (summary.get("phases") or {}).items():
        for name, value in metrics.items():
            if isinstance(value, dict):
                out.update({f"{phase}.{name}.{k}": float(v) for k, v in value.items() if isinstance(v, int | float)})
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{phase}.{name}"] = float(value)
    score = (summary.get("resilience") or {}).get("score")
    if score is not None:
        out["resilience.score"] = float(score)
    return out


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

    def record(self, summary: dict[str, Any]) -> None:
        hypotheses = [{k: h.get(k) for k in ("name", "status", "observed")} for h in summary.get("hypotheses") or []]
        with self._db() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (summary["run_id"],))
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (summary["run_id"], summary.get("experiment") or summary.get("title") or summary["run_id"],
                 summary.get("started_at"), summary.get("target"), summary["outcome"]["verdict"],
                 summary["outcome"]["exit_code"], json.dumps(hypotheses)),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)", [(summary["run_id"], k, v) for k, v in flatten(summary).items()]
            )

    def experiments(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def runs(self, experiment: str, last: int = 20) -> list[dict[str, Any]]:
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
                out.append({"run_id": run_id, "started_at": started_at, "target": target, "verdict": verdict,
                            "exit_code": exit_code, "metrics": metrics})  # fmt: skip
            return out
