"""The experiments we ship: every one validates; the cluster ones print CRD-valid objects with --dry-run;
every sandbox one (and the seed scenario, unchanged, on the sandbox) runs to a pass and leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaoslib_ext.faults.chaosmesh.schemas import schema_errors
from chaoslib_ext.run.ledger import Ledger
from tests.integration.helpers import (
    ROOT,
    chaosllm,
    disturbance,
    proxy_faults,
    run_dirs,
    sandbox_restarts,
    wait_settled,
)

EXPERIMENTS = ROOT / "experiments"


def experiment_files(folder: str) -> list[Path]:
    files = sorted((EXPERIMENTS / folder).glob("*.yaml"))
    return [p for p in files if yaml.safe_load(p.read_text()).get("kind") != "chaosllm/target"]


@pytest.mark.parametrize(
    "path", experiment_files("sandbox") + experiment_files("k8s") + experiment_files("compare"), ids=lambda p: p.name
)
def test_every_shipped_experiment_validates(path):
    result = chaosllm("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: valid"


def dry_run_objects(path: Path, *extra: str, cwd: Path | None = None) -> list[dict]:
    result = chaosllm("run", "--dry-run", str(path), *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("path", experiment_files("k8s"), ids=lambda p: p.name)
def test_a_cluster_experiment_dry_run_prints_objects_valid_for_the_crds(path, tmp_path):
    # its own target file is found next to it, wherever the command runs from
    objects = dry_run_objects(path, cwd=tmp_path)
    assert objects
    for obj in objects:
        assert obj["apiVersion"] == "chaos-mesh.org/v1alpha1"
        assert schema_errors(obj) == [], obj
        assert obj["metadata"]["namespace"] == "llm"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "chaoslib-ext"


def test_the_seed_scenario_on_a_cluster_is_a_delay_a_loss_and_a_bandwidth(k8s_target):
    objects = dry_run_objects(EXPERIMENTS / "k8s" / "seed-scenario.yaml", "--var", f"chaosllm_target={k8s_target}")
    actions = sorted(o["spec"]["action"] for o in objects)
    assert actions == ["bandwidth", "delay", "loss"]  # bandwidth: one limit shared by the Kafka link
    [delay] = [o["spec"] for o in objects if o["spec"]["action"] == "delay"]
    assert (delay["delay"]["latency"], delay["delay"]["jitter"]) == ("1250ms", "750ms")  # 500-2000 ms
    assert delay["externalTargets"] == ["10.244.7.0/24"]  # only what the gateway sends its clients
    [bandwidth] = [o["spec"] for o in objects if o["spec"]["action"] == "bandwidth"]
    assert bandwidth["selector"]["labelSelectors"] == {"app.kubernetes.io/name": "kafka"}
    assert all(o["spec"]["duration"] == "1m" for o in objects)  # 30 s + the dead-man grace


# (experiment, --var overrides): shorter phases than as shipped, to keep the suite's time in bounds
SANDBOX_RUNS = [
    ("sandbox/network-faults.yaml", ["step=6s", "baseline_for=10s", "recovery_for=15s"]),
    ("sandbox/redis-faults.yaml", ["step=4s", "baseline_for=10s", "recovery_for=10s"]),
    ("sandbox/redis-latency-open-loop.yaml", []),  # the demo in an open loop, as shipped
    ("compare/releases-redis-stall.yaml", ["baseline_for=10s", "stall_for=4s", "recovery_for=10s"]),
    (
        # recovery P99 over 20 s rests on ~6 requests: CI measured 1.50x baseline once (p50 1.15x);
        # a fault left in place would show ~50x, so 200 % still catches one
        "k8s/seed-scenario.yaml",
        ["chaosllm_target=sandbox", "fault_for=10s", "baseline_for=20s", "recovery_for=30s", "recovery_p99_max=200%"],
    ),
    (  # last: its broker restart may crash sandbox clients a while later
        # a 10 s recovery window right after the gateway's restart: P90 measured 1.33x baseline once on CI
        "sandbox/kafka-faults.yaml",
        ["step=4s", "baseline_for=10s", "recovery_for=25s", "recovery_p90_max=150%"],
    ),
]


@pytest.mark.parametrize(("name", "overrides"), SANDBOX_RUNS, ids=[n for n, _ in SANDBOX_RUNS])
def test_a_shipped_experiment_passes_on_the_sandbox_and_leaves_nothing(sandbox, tmp_path, name, overrides):
    # A failed run is tried once more only when it measured this machine, not the experiment: a sandbox
    # process crashed meanwhile, or the hypervisor starved the load generator (CI once measured a baseline
    # TTFT p99 of 1456 ms against ~100 ms usually). Every attempt must leave nothing behind.
    failures = []
    for attempt in (1, 2):
        out = tmp_path / f"attempt-{attempt}"
        restarts = sandbox_restarts()
        result = run_and_check_cleanup(sandbox, out, name, overrides)
        [run] = run_dirs(out)
        if result.returncode == 0:
            break
        failures.append(result.stdout[-4000:] + result.stderr[-2000:])
        why = disturbance(run, restarts if "kafka-faults" not in name else None)
        if why is None or attempt == 2:
            pytest.fail("\n\n".join(failures) + (f"\n(attempt 1 was retried because {why})" if attempt == 2 else ""))
        print(f"attempt 1 failed and is retried: {why}")
    summary = json.loads((run / "summary.json").read_text())
    assert {h["status"] for h in summary["hypotheses"]} == {"pass"}


def run_and_check_cleanup(sandbox, out, name, overrides):
    """Run the experiment into ``out``; whatever its outcome, every fault it injected was removed."""
    args = [a for kv in overrides for a in ("--var", kv)]
    result = chaosllm("run", str(EXPERIMENTS / name), "--out", str(out), *args, timeout=400)
    wait_settled()  # a broker restart may crash the sandbox's clients seconds later: not in the next run
    [run] = run_dirs(out)
    events = json.loads((run / "timeline.json").read_text())["events"]
    injected = {e["fault"] for e in events if e["kind"] == "fault_injected"}
    removed = {e["fault"] for e in events if e["kind"] == "fault_removed"}
    assert injected, result.stdout[-4000:] + result.stderr[-2000:]
    assert injected == removed
    assert {e.state for e in Ledger(run / "ledger.json").entries()} == {"removed"}
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
    return result
