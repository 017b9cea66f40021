"""Every run directory this machine opened, wherever it is (``--out``, ``chaosllm_reports_dir``, a plain
``chaos run`` in another folder), so ``chaosllm cleanup`` finds runs outside ``./reports`` too.

One small file per run in ``<state dir>/runs/`` (``$CHAOSLLM_STATE_DIR``, else the XDG state dir):
``{"path": "/abs/path/to/run", "opened_at": ...}``; an entry whose directory is gone is dropped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.target import state_dir

__all__ = ["known_runs", "register_run"]


def _folder() -> Path:
    return state_dir() / "runs"


def register_run(run_dir: Path) -> None:
    write_json_atomic(_folder() / f"{run_dir.name}.json", {"path": str(run_dir.resolve()), "opened_at": time.time()})


def known_runs() -> list[Path]:
    """Every registered run directory that still exists (the others are forgotten)."""
    found = []
    for entry in sorted(_folder().glob("*.json")) if _folder().exists() else []:
        try:
            path = Path(json.loads(entry.read_text())["path"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if path.is_dir():
            found.append(path)
        else:
            entry.unlink(missing_ok=True)
    return found
