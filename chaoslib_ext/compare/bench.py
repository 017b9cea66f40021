"""Interleaved runs for a comparison: the same experiment against side A and side B in alternating
blocks (A B A B ...), so slow drift of the machine or the cluster lands on both sides alike.

Each block is one ``chaosllm run`` of the experiment in its own process (the very code path of a
single run: faults, load, rollback, report), with the side's configuration values (``--var``). The
bench directory holds ``A/`` and ``B/`` (one run directory per block), ``bench.json`` (each block's
side, run directory, exit code and times) and the comparison of ``A/`` against ``B/``. The blocks
record their history in the bench directory, not in the shared history: a release comparison
alternates two systems under one experiment title and would read as drift there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaoslib_ext._jsonfile import JsonObject, write_json_atomic
from chaoslib_ext.verdict.outcome import EXIT_ABORTED, EXIT_INVALID

__all__ = ["SIDE_NAMES", "BenchPlan", "Block", "run_blocks"]

SIDE_NAMES = ("A", "B")
SCHEMA, VERSION = "chaosllm/bench", 1


@dataclass(frozen=True)
class BenchPlan:
    experiment: Path
    sides: dict[str, list[str]]  # side -> its KEY=VALUE configuration values
    blocks: int  # in all, alternating A B A B ...
    common: list[str]  # KEY=VALUE for every block
    out: Path
    run_options: list[str] = field(default_factory=list)  # more options of every block's run (its control endpoint)

    def order(self) -> list[str]:
        return [SIDE_NAMES[i % 2] for i in range(self.blocks)]


@dataclass(frozen=True)
class Block:
    number: int
    side: str
    run_dir: Path | None
    exit_code: int
    started_at: float
    ended_at: float

    def to_json(self) -> JsonObject:
        return {**asdict(self), "run_dir": None if self.run_dir is None else str(self.run_dir)}


def _run_block(plan: BenchPlan, number: int, side: str) -> Block:
    root = plan.out / side
    root.mkdir(parents=True, exist_ok=True)
    before = set(root.iterdir())
    cmd = [sys.executable, "-m", "chaoslib_ext.cli.main", "run", str(plan.experiment), "--out", str(root)]
    for pair in [*plan.common, *plan.sides[side]]:
        cmd += ["--var", pair]
    cmd += plan.run_options
    env = {**os.environ, "CHAOSLLM_HISTORY": str(plan.out / "history.sqlite")}
    started = time.time()
    print(f"bench: block {number}/{plan.blocks}: side {side} ({' '.join(plan.sides[side]) or 'no values'})", flush=True)
    code = _wait(subprocess.Popen(cmd, env=env))
    created = sorted(set(root.iterdir()) - before)
    return Block(number, side, created[0] if created else None, code, started, time.time())


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """The block's exit code. Interrupted (Ctrl-C, or SIGTERM to the bench alone), the block's run
    gets SIGINT and is waited for: it rolls its faults back and writes its report, never killed."""
    interrupted = False
    while True:
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            interrupted = True
            proc.send_signal(signal.SIGINT)  # once more if the terminal already sent it: run defers it
            continue
        return EXIT_ABORTED if interrupted and code == 0 else code


def run_blocks(plan: BenchPlan) -> tuple[list[Block], int | None]:
    """Run every block in order; stop at a block that could not run (2) or was aborted (3), returning
    that code, else None. ``bench.json`` is rewritten after each block. SIGTERM stops it as SIGINT does."""
    blocks: list[Block] = []
    stopped: int | None = None
    previous = signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        for number, side in enumerate(plan.order(), start=1):
            try:
                block = _run_block(plan, number, side)
            except KeyboardInterrupt:  # between blocks: a block's own interrupt is handled by _wait
                stopped = EXIT_ABORTED
                break
            blocks.append(block)
            _write(plan, blocks)
            if block.exit_code in (EXIT_INVALID, EXIT_ABORTED) or block.exit_code < 0:
                stopped = EXIT_ABORTED if block.exit_code != EXIT_INVALID else EXIT_INVALID
                break
    finally:
        signal.signal(signal.SIGTERM, previous)
    _write(plan, blocks, stopped)
    return blocks, stopped


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _write(plan: BenchPlan, blocks: list[Block], stopped: int | None = None) -> None:
    write_json_atomic(
        plan.out / "bench.json",
        {
            "schema": SCHEMA,
            "version": VERSION,
            "experiment": str(plan.experiment),
            "sides": plan.sides,
            "common": plan.common,
            "order": plan.order(),
            "blocks": [b.to_json() for b in blocks],
            "stopped_with": stopped,
        },
    )
