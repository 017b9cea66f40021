"""How often ``chaosllm compare`` calls identical releases different (A/A), and how often it catches
the sandbox's v2 (TTFT P99 about +10 %) at the default run length (A/B).

    .venv/bin/python -m tests.benchmarks.compare_rates [--trials 10] [--measure-for 300s] [--keep DIR]
    .venv/bin/python -m tests.benchmarks.compare_rates --judge DIR [DIR ...]   # kept runs, judged again

Every trial is a real run of experiments/compare/releases.yaml at its default length on a sandbox of
this script's own: its load alternates two sides request by request, then ``compare`` splits the run
with default settings. A/A trials put sandbox-v1 on both sides, A/B trials v1 against v2; they
alternate (A/A, A/B, A/A, ...) so the machine's mood lands on both kinds. A/A counts a trial when
compare would exit 1 (any metric regressed); A/B when it calls ttft_ms.p99 regressed. The same runs
are judged again keeping the seconds the load generator was starved (``--max-steal off``) and with one
weight per request (``--group 0``) for contrast. Ctrl-C prints what is done. ``--judge`` reads runs kept
with ``--keep`` (by earlier sessions too) and judges them again, each by the model its side B ran.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaoslib_ext.compare.arms import load_sides
from chaoslib_ext.compare.verdict import REGRESSED, Settings, compare
from chaoslib_ext.durations import parse_duration

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "compare" / "releases.yaml"
CHAOSLLM = [sys.executable, "-m", "chaoslib_ext.cli.main"]
KINDS = {"A/A": "sandbox-v1", "A/B": "sandbox-v2"}  # side B's model; side A is always sandbox-v1
SETTINGS = {
    "default": Settings(),
    "every second kept": replace(Settings(), max_steal=None),
    "per-request weights": replace(Settings(), group_s=0.0),
}


@dataclass
class Tally:
    flagged: int = 0
    trials: int = 0
    p99: list[float] = field(default_factory=list)  # ttft_ms.p99 change of each trial

    def line(self, name: str) -> str:
        if not self.trials:
            return f"{name:<52} no trial"
        low, high = wilson(self.flagged, self.trials)
        rate = self.flagged / self.trials
        return f"{name:<52} {self.flagged:>3} / {self.trials:<3} = {rate:6.1%}  (Wilson 95 % {low:.1%}-{high:.1%})"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def one_run(out: Path, b_model: str, measure_for: str, env: dict[str, str]) -> Path:
    before = set(out.iterdir()) if out.exists() else set()
    cmd = [*CHAOSLLM, "run", str(EXPERIMENT), "--out", str(out), "--var", f"b_model={b_model}"]
    cmd += ["--var", f"measure_for={measure_for}"] if measure_for else []
    code = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True, timeout=3600).returncode
    created = [p for p in set(out.iterdir()) - before if (p / "timeline.json").exists()]
    if code not in (0, 1) or len(created) != 1:
        raise SystemExit(f"run exited {code}: {cmd}")
    return created[0]


def judge(run: Path, kind: str, tallies: dict[str, Tally]) -> str:
    sides = {steal: load_sides(run, steal) for steal in {s.max_steal for s in SETTINGS.values()}}
    starved = sum(p.excluded_s for name, p in sides[Settings().max_steal][0].phases.items() if name != "overall")
    parts = [f"{starved:.0f} s starved"]
    for name, settings in SETTINGS.items():
        rows = compare(*sides[settings.max_steal], settings).rows
        regressed = [f"{r.metric.key}" for r in rows if r.verdict == REGRESSED]
        p99 = next(r for r in rows if r.metric.key == "ttft_ms.p99")
        tally = tallies[f"{name}: {kind}"]
        tally.trials += 1
        tally.flagged += bool(regressed) if kind == "A/A" else "ttft_ms.p99" in regressed
        tally.p99.append(p99.delta.estimate or math.nan)
        d = p99.delta
        parts.append(f"{name}: p99 {d.estimate:+.1%} [{d.low:+.1%}, {d.high:+.1%}] regressed {regressed or '-'}")
    return "; ".join(parts)


def report(tallies: dict[str, Tally]) -> None:
    print("\nrates:")
    for name, tally in tallies.items():
        kind = "flags any regression" if name.endswith("A/A") else "flags ttft_ms.p99"
        print(tally.line(f"{name} {kind}"))
    for name, tally in tallies.items():
        if name.endswith("A/B") and tally.p99:
            mean = sum(tally.p99) / len(tally.p99)
            print(f"{name}: mean ttft_ms.p99 change over the trials {mean:+.1%}")
            break


def kind_of(run: Path) -> str:
    """A/A or A/B, by the model side B of the run's alternating load asked for."""
    model = json.loads((run / "load" / "spec.json").read_text())["alternate"]["b"]["model"]
    return next(kind for kind, b_model in KINDS.items() if b_model == model)


def rejudge(directories: list[Path]) -> dict[str, Tally]:
    tallies = {f"{name}: {kind}": Tally() for name in SETTINGS for kind in KINDS}
    runs = sorted(r for d in directories for r in d.iterdir() if (r / "summary.json").exists())
    for run in runs:
        kind = kind_of(run)
        print(f"{run.name} {kind}: {judge(run, kind, tallies)}", flush=True)
    report(tallies)
    return tallies


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> dict[str, Tally]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10, help="trials of each kind")
    parser.add_argument("--measure-for", default="", help="run length (default: the experiment's)")
    parser.add_argument("--keep", type=Path, help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--budget", default="", help="start no trial pair that would end after this (e.g. 60m)")
    parser.add_argument("--judge", type=Path, nargs="+", metavar="DIR", help="judge the runs kept in DIR again")
    args = parser.parse_args(argv)
    if args.judge:
        return rejudge(args.judge)
    budget_s = parse_duration(args.budget, "--budget") if args.budget else math.inf
    signal.signal(signal.SIGTERM, _interrupt)  # stop as Ctrl-C does: the sandbox goes down
    tallies = {f"{name}: {kind}": Tally() for name in SETTINGS for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "runs"
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CHAOSLLM_STATE_DIR": str(Path(tmp) / "state"), "CHAOSLLM_HISTORY": str(out / "h.sqlite")}
        subprocess.run([*CHAOSLLM, "sandbox", "up"], env=env, check=True, capture_output=True, timeout=180)
        began, pair_s = time.monotonic(), 0.0
        try:
            for trial in range(1, args.trials + 1):
                if time.monotonic() - began + pair_s > budget_s:
                    print(f"budget {args.budget} reached after {trial - 1} trials of each kind")
                    break
                pair_started = time.monotonic()
                for kind, b_model in KINDS.items():
                    started = time.monotonic()
                    run = one_run(out, b_model, args.measure_for, env)
                    line = judge(run, kind, tallies)
                    print(f"trial {trial} {kind} ({time.monotonic() - started:.0f} s): {line}", flush=True)
                pair_s = time.monotonic() - pair_started
        except KeyboardInterrupt:
            print("interrupted: the rates below cover the trials done")
        finally:
            subprocess.run([*CHAOSLLM, "sandbox", "down"], env=env, check=False, capture_output=True, timeout=180)
    report(tallies)
    return tallies


if __name__ == "__main__":
    main()
