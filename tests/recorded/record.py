"""Record real runs as test data (tests/data/runs/): what a run leaves as raw data, and what
``chaosllm report`` (and ``chaosllm compare``) made of it then. tests/unit/report/test_recorded_runs.py
renders them again and requires the same bytes, so a refactoring of metrics, verdicts or renderers
cannot change what users read without a test saying so.

    .venv/bin/python -m tests.recorded.record        # needs the sandbox's servers; about 2 minutes

Runs, each shortened to keep the data small (a few hundred kB):
- ``demo``: the demo shortened (tests/integration/experiments/short.yaml: 200 ms on the gateway ->
  Redis link, 6 s phases);
- ``compare``: experiments/compare/releases.yaml (v1 and v2 alternating) for 12 s, then ``compare``;
- ``aborted``: the short demo interrupted by SIGINT while its fault is in;
- ``chaos-mesh``: the short demo's delay as a NetworkChaos on the fake Kubernetes API server (the
  sandbox serves the load; the fake does not slow anything, so the fault phase reads like the others).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "runs"
CHAOSLLM = [sys.executable, "-m", "chaoslib_ext.cli.main"]
#: what ``chaosllm report`` reads; everything else a run writes is rewritten or not needed
INPUTS = ("experiment.json", "journal.json", "timeline.json", "ledger.json", "environment.json", "load/spec.json")
OUTPUTS = ("summary.json", "report.md", "junit.xml")
#: compare.json names the runs it read by their directory: recorded with this in its place
RUN_PLACEHOLDER = "<run directory>"


def chaosllm(*args: str, env: dict[str, str], check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CHAOSLLM, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"chaosllm {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def only_run(out: Path) -> Path:
    [run] = [p for p in out.iterdir() if p.is_dir()]
    return run


def keep(run: Path, name: str, env: dict[str, str]) -> Path:
    """Copy the raw data of ``run`` to tests/data/runs/<name>/ and render its expected outputs there."""
    dest = DATA / name
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "samples").mkdir(parents=True)
    for rel in INPUTS:
        if (run / rel).exists():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(run / rel, dest / rel)
    for sample in (run / "samples").iterdir():
        shutil.copy(sample, dest / "samples" / sample.name)
    rendered = Path(tempfile.mkdtemp()) / name
    shutil.copytree(dest, rendered)
    chaosllm("report", str(rendered), env=env)  # its exit code is the run's
    (dest / "expected").mkdir()
    for rel in OUTPUTS:
        shutil.copy(rendered / rel, dest / "expected" / rel)
    return rendered


def run_to_end(experiment: Path, out: Path, env: dict[str, str], *extra: str) -> Path:
    chaosllm("run", str(experiment), "--out", str(out), *extra, env=env)
    return only_run(out)


def aborted(work: Path, env: dict[str, str]) -> Path:
    out = work / "aborted"
    argv = [*CHAOSLLM, "run", str(SHORT_DEMO), "--out", str(out), "--var", "window=15s"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        runs = [p for p in out.glob("*") if p.is_dir()] if out.exists() else []
        timeline = runs[0] / "timeline.json" if runs else None
        if timeline is not None and timeline.exists() and "fault_injected" in timeline.read_text(errors="ignore"):
            break
        time.sleep(0.2)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    proc.wait(120)
    return only_run(out)


def chaos_mesh(work: Path, env: dict[str, str], sandbox: dict) -> Path:
    from tests.fakes.kube_apiserver import FakeKubeAPI

    api = FakeKubeAPI()
    api.start()
    try:
        raw = yaml.safe_load((ROOT / "experiments/k8s/target.example.yaml").read_text())
        raw["services"]["gateway"]["address"] = sandbox["services"]["gateway"]["address"]
        for name in ("redis", "kafka"):
            raw["services"][name]["address"] = sandbox["services"][name]["real"]
        raw["chaos_mesh"].update(kubeconfig=api.kubeconfig(work / "kubeconfig"), context="fake", inject_timeout="5s")
        (work / "cluster.yaml").write_text(yaml.safe_dump(raw))
        demo = yaml.safe_load(SHORT_DEMO.read_text())
        demo["configuration"].update(chaosllm_target=str(work / "cluster.yaml"))
        demo["title"] = "Chaos Mesh delay on the fake API"
        # the fake API does not slow the sandbox: only the hypotheses that need no effect are kept
        demo["extensions"][0]["hypotheses"] = [h for h in demo["extensions"][0]["hypotheses"] if h["phase"] != "fault"]
        (work / "chaos-mesh.yaml").write_text(yaml.safe_dump(demo, sort_keys=False))
        return run_to_end(work / "chaos-mesh.yaml", work / "chaos-mesh", env, *SHORT)
    finally:
        api.stop()


SHORT_DEMO = ROOT / "tests" / "integration" / "experiments" / "short.yaml"
SHORT = ("--var", "window=6s")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="chaosllm-record-"))
    env = {"CHAOSLLM_STATE_DIR": str(work / "state"), "CHAOSLLM_HISTORY": str(work / "history.sqlite")}
    chaosllm("sandbox", "up", "--seed", "7", env=env, check=True)
    try:
        sandbox = json.loads(chaosllm("sandbox", "status", "--json", env=env, check=True).stdout)
        demo = run_to_end(SHORT_DEMO, work / "demo", env, *SHORT)
        keep(demo, "demo", env)
        compared = run_to_end(
            ROOT / "experiments/compare/releases.yaml", work / "compare", env, "--var", "measure_for=12s"
        )
        rendered = keep(compared, "compare", env)
        chaosllm("compare", str(rendered), "--out", str(rendered / "comparison"), env=env)
        text = (rendered / "comparison" / "compare.json").read_text()  # where the run was is no content
        (DATA / "compare" / "expected" / "compare.json").write_text(text.replace(str(rendered), RUN_PLACEHOLDER))
        keep(aborted(work, env), "aborted", env)
        keep(chaos_mesh(work, env, sandbox), "chaos-mesh", env)
    finally:
        chaosllm("sandbox", "down", env=env)
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in DATA.iterdir()}
    print("recorded:", ", ".join(f"{name} {size / 1024:.0f} kB" for name, size in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
