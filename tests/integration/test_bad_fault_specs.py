"""A bad fault spec stops ``chaosllm run`` with exit 2, ``file:line:col``, the field and the accepted
values, before anything is created: checked on both backends (the fake Kubernetes API, the sandbox)."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.integration.helpers import ROOT, chaosllm, proxy_faults, run_dirs

SEED = ROOT / "experiments" / "k8s" / "seed-scenario.yaml"
GATEWAY_FAULT = "        link: gateway\n        action: delay\n"
DELAY_BLOCK = "        delay:\n          latency: 1250ms\n          jitter: 750ms\n"

# (case, text replaced in the seed scenario, its replacement, the field named, what the error accepts)
CASES = [
    ("negative latency", "latency: 1250ms", "latency: -5ms", "arguments.delay.latency", "ns, us, ms, s, m or h"),
    ("unknown action", "action: delay", "action: slowdown", "arguments.action", "delay, loss, duplicate"),
    (
        "rate without units",
        GATEWAY_FAULT + DELAY_BLOCK,
        "        link: gateway\n        action: bandwidth\n        bandwidth: {rate: '1000'}\n",
        "arguments.bandwidth.rate",
        "bps, kbps, mbps, gbps or tbps",
    ),
    (
        "mode fixed without value",
        GATEWAY_FAULT,
        "        link: gateway\n        mode: fixed\n        action: delay\n",
        "arguments.value",
        "an integer > 0",
    ),
    (
        "unknown selector key",
        GATEWAY_FAULT,
        "        link: gateway\n        selector: {labelSelector: {app: gw}}\n        action: delay\n",
        "arguments.selector.labelSelector",
        "namespaces, labelSelectors",
    ),
]


def broken_seed(tmp_path, old: str, new: str):
    text = SEED.read_text()
    assert old in text
    path = tmp_path / "seed.yaml"
    path.write_text(text.replace(old, new, 1))
    shutil.copy(SEED.with_name("target.example.yaml"), tmp_path)  # the target it names, next to it
    return path


def assert_refused(result, path, field: str, accepted: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    match = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): method\[1\]\.provider\.(\S+): .*\(accepted: (.*)\)$", line)
    assert match, line
    assert match[3] == field
    assert accepted in match[4]
    assert int(match[1]) > 1


@pytest.mark.parametrize(("case", "old", "new", "field", "accepted"), CASES, ids=[c[0] for c in CASES])
def test_on_a_cluster_target_nothing_is_created(kube_api, k8s_target, tmp_path, case, old, new, field, accepted):
    path = broken_seed(tmp_path, old, new)
    result = chaosllm("run", str(path), "--var", f"chaosllm_target={k8s_target}", "--out", str(tmp_path / "runs"))
    assert_refused(result, path, field, accepted)
    assert kube_api.created == []
    assert kube_api.rejected == []
    assert run_dirs(tmp_path / "runs") == []


@pytest.mark.parametrize(("case", "old", "new", "field", "accepted"), CASES, ids=[c[0] for c in CASES])
def test_on_the_sandbox_nothing_is_injected(sandbox, tmp_path, case, old, new, field, accepted):
    path = broken_seed(tmp_path, old, new)
    result = chaosllm("run", str(path), "--var", "chaosllm_target=sandbox", "--out", str(tmp_path / "runs"))
    assert_refused(result, path, field, accepted)
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
    assert run_dirs(tmp_path / "runs") == []
