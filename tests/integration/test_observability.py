"""The server's own view beside the client's, and Prometheus in and out, against real parts: the sandbox
gateway's /metrics (vLLM's names), a real Prometheus server (Debian's ``prometheus``) scraping it and the
run's own /metrics, PromQL hypotheses over the phases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from chaoslib_ext._readiness import free_port
from tests.integration.helpers import activity, experiment, observe, run_experiment

DELAY_MS = 200.0
LIGHT = {"users": 2, "max_tokens": 4, "warmup": "1s"}
ANSWERED = [{"name": "answered", "phase": "overall", "metric": "error_rate", "expect": "<= 0.5"}]


def delayed(link: str, direction: str = "to", hypotheses: list | None = None) -> dict:
    method = [observe("baseline", "6s"),
              activity("delay", "faults.network.actions", "network_fault", link=link, action="delay",
                       delay={"latency": f"{DELAY_MS:g}ms"}, direction=direction, duration="8s"),
              observe("recovery", "6s")]  # fmt: skip
    answered = [{"name": "answered", "phase": "overall", "metric": "error_rate", "expect": "<= 0.05"}]
    load = {"users": 8, "max_tokens": 8, "warmup": "2s"}
    title = f"a {link} delay, seen by the server and the client"
    return experiment(title, method, target="sandbox", load=load, hypotheses=hypotheses or answered)


def gap_growth(run: Path) -> tuple[float, dict]:
    """How much the client-minus-server TTFT gap grew from the baseline to the fault phase (ms)."""
    phases = json.loads((run / "summary.json").read_text())["phases"]
    base, fault = phases["baseline"]["server_metrics"], phases["fault"]["server_metrics"]
    return fault["ttft_gap_ms"] - base["ttft_gap_ms"], phases


def test_a_gateway_link_delay_is_outside_the_servers_ttft_and_a_redis_delay_inside(sandbox_state, tmp_path):
    state_dir, _ = sandbox_state
    (tmp_path / "gateway").mkdir()
    (tmp_path / "redis").mkdir()
    result, gateway_run = run_experiment(delayed("gateway"), tmp_path / "gateway", state_dir, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    result, redis_run = run_experiment(delayed("redis"), tmp_path / "redis", state_dir, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert gateway_run is not None
    assert redis_run is not None
    on_the_way, phases = gap_growth(gateway_run)
    inside, redis_phases = gap_growth(redis_run)
    print(f"\ngap growth: gateway-link delay {on_the_way:+.1f} ms, Redis delay {inside:+.1f} ms (of {DELAY_MS:g})")
    assert on_the_way >= 0.8 * DELAY_MS  # the delay is on the way to the server: the gap takes it
    assert abs(inside) < 0.2 * DELAY_MS  # the server waits for Redis: its own TTFT takes it, not the gap
    server = redis_phases["fault"]["server_metrics"]["ttft_ms"]["mean"]
    assert server - redis_phases["baseline"]["server_metrics"]["ttft_ms"]["mean"] >= 0.8 * DELAY_MS
    assert phases["fault"]["server_metrics"]["ttft_ms"]["bucketed"] is True
    assert phases["fault"]["server_metrics"]["failed_scrapes"] == 0
    assert (gateway_run / "server_metrics" / "gateway.prom").read_text().count("# chaosllm-scrape at=") >= 5
    report = (gateway_run / "report.md").read_text()
    assert "## The server's own view" in report
    assert "bucket-bounded" in report


@pytest.fixture
def prometheus(sandbox, tmp_path) -> Iterator[tuple[str, int]]:
    """A real Prometheus on loopback scraping, every second, the sandbox gateway and a run's control
    endpoint at the port it yields (the run is told to listen there)."""
    binary = shutil.which("prometheus")
    assert binary, "Debian's prometheus is needed: scripts/test installs it"
    control_port, port = free_port(), free_port()
    gateway = sandbox["services"]["gateway"]["real"].removeprefix("http://")
    jobs = {"gateway": gateway, "chaosllm": f"127.0.0.1:{control_port}"}
    scrape = [{"job_name": j, "static_configs": [{"targets": [t]}]} for j, t in jobs.items()]
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": scrape}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    argv = [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    with (tmp_path / "prometheus.log").open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url, control_port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    """Until a Prometheus (or Pushgateway) answers its readiness endpoint."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def instant(url: str, query: str, at: float) -> list:
    body = requests.get(url + "/api/v1/query", params={"query": query, "time": f"{at:.3f}"}, timeout=5).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_promql_hypotheses_pass_and_fail_and_the_runs_own_metrics_reach_prometheus(prometheus, sandbox_state, tmp_path):
    url, control_port = prometheus
    state_dir, _ = sandbox_state
    p50 = "histogram_quantile(0.5, sum(rate(vllm:time_to_first_token_seconds_bucket[3s])) by (le))"
    hypotheses = [
        {"name": "the server's TTFT p50 rose by the delay", "phase": "fault", "expect": ">= baseline + 0.15",
         "prometheus": {"url": url, "query": p50, "step": "1s", "aggregate": "p50"}},
        {"name": "the server's TTFT p50 stayed under 50 ms", "phase": "fault", "expect": "< 0.05",
         "prometheus": {"url": url, "query": p50, "step": "1s", "aggregate": "p50"}},
        {"name": "a series nobody exports", "phase": "fault", "expect": "< 1",
         "prometheus": {"url": url, "query": "no_such_series_total", "step": "1s"}},
    ]  # fmt: skip
    exp = delayed("redis", hypotheses=hypotheses)
    exp["configuration"]["chaosllm_control"] = f"127.0.0.1:{control_port}"
    exp["configuration"]["chaosllm_metrics_linger"] = "3s"  # a last scrape sees the verdicts
    result, run = run_experiment(exp, tmp_path, state_dir, timeout=180)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # one hypothesis fails
    assert run is not None
    verdicts = {v["name"]: v for v in json.loads((run / "summary.json").read_text())["hypotheses"]}
    rose, under, nobody = verdicts.values()
    assert rose["status"] == "pass", rose["message"]
    assert rose["observed"] - rose["reference"] >= 0.15
    assert under["status"] == "fail", under["message"]
    assert nobody["status"] == "no-data"
    assert "gave no data between" in nobody["message"]
    assert json.loads((run / "prometheus.json").read_text())["a series nobody exports"]["fault"]["error"]
    # the run's own /metrics, as Prometheus scraped it: the fault 1 while injected, 0 after
    [entry] = json.loads((run / "ledger.json").read_text())["entries"]
    active = f'chaosllm_fault_active{{fault="{entry["id"]}"}}'
    during = instant(url, f"max_over_time({active}[2s])", entry["injected_at"] + 4.0)
    after = instant(url, active, entry["removed_at"] + 3.0)
    assert [float(r["value"][1]) for r in during] == [1.0]
    assert [float(r["value"][1]) for r in after] == [0.0]
    ok = instant(url, "max_over_time(chaosllm_hypothesis_ok[30s])", time.time())  # the endpoint is gone now
    assert {r["metric"]["name"]: float(r["value"][1]) for r in ok} == {
        "the server's TTFT p50 rose by the delay": 1.0, "the server's TTFT p50 stayed under 50 ms": 0.0,
        "a series nobody exports": 0.0}  # fmt: skip
    ttft = instant(url, "max_over_time(chaosllm_client_ttft_seconds_count[30s])", time.time())
    assert float(ttft[0]["value"][1]) > 100


@pytest.fixture
def grafana():
    from tests.fakes.grafana import FakeGrafana

    fake = FakeGrafana(token=f"glsa_{time.time_ns()}")
    fake.start()
    yield fake
    fake.stop()


def regions(fake, run: Path) -> dict[str, dict]:
    """The fake Grafana's regions of this run, by fault (found through its tags, as a dashboard would)."""
    found = requests.get(f"{fake.url}/api/annotations", params={"tags": f"run:{run.name}"},
                         headers={"Authorization": f"Bearer {fake.token}"}, timeout=5).json()  # fmt: skip
    return {next(t.removeprefix("fault:") for t in a["tags"] if t.startswith("fault:")): a for a in found}


def test_each_fault_is_a_grafana_region_from_injection_to_removal(grafana, sandbox_state, tmp_path, monkeypatch):
    state_dir, _ = sandbox_state
    monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
    method = [observe("baseline", "2s"),
              activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                       delay={"latency": "50ms"}, duration="2s"),
              activity("slow kafka", "faults.network.actions", "network_fault", link="kafka", action="delay",
                       delay={"latency": "20ms"}, duration="2s"),
              observe("recovery", "2s")]  # fmt: skip
    exp = experiment("grafana regions", method, target="sandbox", load=LIGHT, hypotheses=ANSWERED)
    exp["configuration"]["chaosllm_grafana"] = {"url": grafana.url, "token": {"env": "GRAFANA_TOKEN"},
                                                "tags": ["staging"]}  # fmt: skip
    result, run = run_experiment(exp, tmp_path, state_dir, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert run is not None
    found = regions(grafana, run)
    entries = {e["id"]: e for e in json.loads((run / "ledger.json").read_text())["entries"]}
    assert set(found) == set(entries) == {"delay-redis", "delay-kafka"}  # one region per fault
    for fault, entry in entries.items():
        region = found[fault]
        assert region["time"] == int(entry["injected_at"] * 1000)
        assert region["timeEnd"] == int(entry["removed_at"] * 1000)  # the true end, not the TTL it began with
        assert {"chaosllm", "staging", "experiment:grafana regions", f"fault:{fault}"} <= set(region["tags"])
    assert grafana.token not in "".join(p.read_text(errors="replace") for p in run.rglob("*") if p.is_file())


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_a_region_gets_its_true_end_after_a_signal(sig, grafana, sandbox_state, tmp_path, monkeypatch):
    """SIGINT: the run removes the fault and closes the region itself; SIGKILL: ``chaosllm cleanup`` does."""
    import signal

    from tests.integration.helpers import CHAOSLLM, ROOT, wait_injected

    state_dir, _ = sandbox_state
    monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
    method = [activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                       delay={"latency": "50ms"}, duration="60s")]  # fmt: skip
    exp = experiment(f"grafana after {sig}", method, target="sandbox", load=LIGHT, hypotheses=ANSWERED)
    exp["configuration"]["chaosllm_grafana"] = {"url": grafana.url, "token": {"env": "GRAFANA_TOKEN"}}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    env = {**os.environ, "CHAOSLLM_STATE_DIR": str(state_dir)}
    argv = [*CHAOSLLM, "run", str(path), "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    run = wait_injected(tmp_path / "out", proc)
    deadline = time.monotonic() + 10
    while not regions(grafana, run) and time.monotonic() < deadline:
        time.sleep(0.1)
    [opened] = regions(grafana, run).values()
    assert opened["timeEnd"] > opened["time"] + 60_000  # while in force: it ends no later than its TTL
    proc.send_signal(getattr(signal, sig))
    output = proc.communicate(timeout=60)[0]
    if sig == "SIGKILL":
        killed = time.time()
        cleanup = subprocess.run([*CHAOSLLM, "cleanup", "--root", str(tmp_path / "out")], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
        assert "Grafana regions given their true end" in cleanup.stdout, cleanup.stdout
        [entry] = json.loads((run / "ledger.json").read_text())["entries"]
        assert killed <= entry["removed_at"] <= time.time()
    else:
        assert proc.returncode == 3, output[-3000:]
        [entry] = json.loads((run / "ledger.json").read_text())["entries"]
    [closed] = regions(grafana, run).values()
    assert closed["timeEnd"] == int(entry["removed_at"] * 1000)


def test_spans_of_the_run_its_steps_and_its_faults_reach_an_otlp_receiver(sandbox, sandbox_state, tmp_path):
    from tests.fakes.otlp import OtlpReceiver

    state_dir, _ = sandbox_state
    receiver = OtlpReceiver()
    receiver.start()
    gateway = sandbox["services"]["gateway"]["real"]

    def traced() -> float:
        text = requests.get(gateway + "/metrics", timeout=5).text
        return sum(
            float(line.split()[-1]) for line in text.splitlines() if line.startswith("sandbox_traced_requests_total")
        )

    try:
        before = traced()
        method = [observe("baseline", "2s"),
                  activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                           delay={"latency": "50ms"}, duration="2s"),
                  observe("recovery", "2s")]  # fmt: skip
        exp = experiment("traced", method, target="sandbox", load=LIGHT, hypotheses=ANSWERED)
        exp["configuration"]["chaosllm_otlp"] = {"endpoint": receiver.url, "sample": 0.5}
        result, run = run_experiment(exp, tmp_path, state_dir, timeout=120)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert run is not None
        spans = {s.name: s for s in receiver.spans}
    finally:
        receiver.stop()
    root = spans["chaosllm run traced"]
    assert root.parent_id == ""
    assert root.resource["chaosllm.run_id"] == run.name
    [entry] = json.loads((run / "ledger.json").read_text())["entries"]
    fault = spans[f"fault {entry['id']}"]
    assert (fault.trace_id, fault.parent_id) == (root.trace_id, root.span_id)  # a child of the run
    assert fault.start_ns == int(entry["injected_at"] * 1e9)  # the ledger's times
    assert fault.end_ns == int(entry["removed_at"] * 1e9)
    assert fault.attributes["chaosllm.fault.family"] == "network"
    for step in ("baseline", "slow redis", "recovery", "remove every fault"):
        assert spans[f"activity {step}"].parent_id == root.span_id, step
    assert (
        spans["activity slow redis"].start_ns <= fault.start_ns <= fault.end_ns <= spans["activity slow redis"].end_ns
    )
    # half the load's requests carried a traceparent in the run's trace, and the server saw each one
    lines = [
        json.loads(line) for f in (run / "samples").glob("traceparent-*.jsonl") for line in f.read_text().splitlines()
    ]
    assert lines
    assert {line["traceparent"].split("-")[1] for line in lines} == {root.trace_id}
    requests_sent = json.loads((run / "summary.json").read_text())["phases"]["overall"]["requests"]
    assert 0.3 * requests_sent <= len(lines) <= 0.7 * requests_sent
    assert traced() - before == len(lines)


def test_a_killed_runs_spans_are_sent_as_it_goes_and_the_rest_by_cleanup(sandbox_state, tmp_path):
    """A fault's span leaves once the fault is removed; after a SIGKILL, ``chaosllm cleanup`` sends the
    run's span under its own ids (the children already received find their parent) and the spans of
    the faults it removed."""

    from chaoslib_ext.run.ledger import Ledger
    from tests.fakes.otlp import OtlpReceiver
    from tests.integration.helpers import CHAOSLLM, ROOT, chaosllm, wait_injected

    state_dir, _ = sandbox_state
    receiver = OtlpReceiver()
    receiver.start()
    try:
        method = [activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                           delay={"latency": "20ms"}, duration="1s"),
                  activity("slow kafka", "faults.network.actions", "network_fault", link="kafka", action="delay",
                           delay={"latency": "20ms"}, duration="60s")]  # fmt: skip
        exp = experiment("traced then killed", method, target="sandbox", load=LIGHT, hypotheses=ANSWERED)
        exp["configuration"]["chaosllm_otlp"] = {"endpoint": receiver.url}
        path = tmp_path / "experiment.yaml"
        path.write_text(yaml.safe_dump(exp, sort_keys=False))
        argv = [*CHAOSLLM, "run", str(path), "--out", str(tmp_path / "out")]
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "CHAOSLLM_STATE_DIR": str(state_dir)})  # fmt: skip
        run = wait_injected(tmp_path / "out", proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "fault delay-redis" not in {s.name for s in receiver.spans}:
            time.sleep(0.1)
        assert {e.id: e.state for e in Ledger(run / "ledger.json").entries()} == {
            "delay-redis": "removed", "delay-kafka": "injected"}  # fmt: skip
        proc.kill()
        proc.communicate(timeout=60)
        before = {s.name for s in receiver.spans}
        assert "fault delay-redis" in before  # sent while the run ran, once removed
        assert "fault delay-kafka" not in before
        assert not any(name.startswith("chaosllm run") for name in before)  # the run's span died with it
        env = {"CHAOSLLM_STATE_DIR": str(state_dir)}
        cleanup = chaosllm("cleanup", "--root", str(tmp_path / "out"), env=env, timeout=120)
        assert "the run's span and 1 fault span(s) exported" in cleanup.stdout, cleanup.stdout + cleanup.stderr
        again = chaosllm("cleanup", "--root", str(tmp_path / "out"), env=env, timeout=120)
        assert "exported" not in again.stdout, again.stdout  # the spans were sent once
        spans = {s.name: s for s in receiver.spans}
    finally:
        receiver.stop()
    root = spans["chaosllm run traced then killed"]
    assert root.status == (2, "the run was killed; its faults were removed by chaosllm cleanup")
    assert root.parent_id == ""
    assert len([s for s in receiver.spans if s.name == root.name]) == 1
    entries = {e["id"]: e for e in json.loads((run / "ledger.json").read_text())["entries"]}
    for fault in ("delay-redis", "delay-kafka"):
        span = spans[f"fault {fault}"]
        assert (span.trace_id, span.parent_id) == (root.trace_id, root.span_id), fault  # both under the run
        assert (span.start_ns, span.end_ns) == (int(entries[fault]["injected_at"] * 1e9),
                                                int(entries[fault]["removed_at"] * 1e9))  # fmt: skip
    assert spans["activity slow redis"].parent_id == root.span_id  # sent before the kill, under the same span
    assert root.start_ns <= spans["activity slow redis"].start_ns


def test_a_short_run_pushes_its_metrics_to_a_pushgateway(sandbox_state, tmp_path):
    """A real Pushgateway (Debian's): the run's metrics, its verdicts included, pushed when it is judged,
    grouped by job chaosllm and the run id."""
    binary = shutil.which("prometheus-pushgateway")
    assert binary, "Debian's prometheus-pushgateway is needed: scripts/test installs it"
    state_dir, _ = sandbox_state
    port = free_port()
    log = (tmp_path / "pushgateway.log").open("w")
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        exp = experiment("pushed", [observe("baseline", "2s")], target="sandbox", load=LIGHT, hypotheses=ANSWERED)
        exp["configuration"]["chaosllm_pushgateway"] = url
        result, run = run_experiment(exp, tmp_path, state_dir, timeout=120)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert run is not None
        pushed = requests.get(url + "/metrics", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    assert f'chaosllm_hypothesis_ok{{instance="",job="chaosllm",name="answered",run_id="{run.name}"}} 1' in pushed
    assert f'chaosllm_run_info{{experiment="pushed",instance="",job="chaosllm",run_id="{run.name}"}} 1' in pushed
