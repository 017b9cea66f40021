"""A sandbox of a benchmark's own, in a temporary state directory with its own history: up on entry,
down on exit (Ctrl-C and SIGTERM included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHAOSLLM = [sys.executable, "-m", "chaoslib_ext.cli.main"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def own_sandbox(tmp: Path, history: Path) -> Iterator[dict[str, str]]:
    """The environment that points ``chaosllm`` at a sandbox started under ``tmp``."""
    env = {**os.environ, "CHAOSLLM_STATE_DIR": str(tmp / "state"), "CHAOSLLM_HISTORY": str(history)}
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as Ctrl-C does: the sandbox goes down
    subprocess.run([*CHAOSLLM, "sandbox", "up"], env=env, check=True, capture_output=True, timeout=180)
    try:
        yield env
    finally:
        subprocess.run([*CHAOSLLM, "sandbox", "down"], env=env, check=False, capture_output=True, timeout=180)
        signal.signal(signal.SIGTERM, previous)


def run_experiment(experiment: Path, out: Path, env: dict[str, str], *var: str) -> Path:
    """Run ``experiment`` once (``KEY=VALUE`` values), its run directory under ``out``; SystemExit when it
    could not run (exit code other than 0 or 1)."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    cmd = [*CHAOSLLM, "run", str(experiment), "--out", str(out)]
    for pair in var:
        cmd += ["--var", pair]
    code = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True, timeout=3600).returncode
    created = [p for p in set(out.iterdir()) - before if (p / "timeline.json").exists()]
    if code not in (0, 1) or len(created) != 1:
        raise SystemExit(f"run exited {code}: {' '.join(cmd)}")
    return created[0]
