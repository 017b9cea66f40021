"""The kill matrix: whatever ends a run, no fault remains and the exit code is as specified.

Cases x backends: {SIGINT, SIGTERM, SIGHUP (a closed terminal), SIGKILL then `chaosllm cleanup`, SIGKILL
and no cleanup at all (the fault must expire by itself within its TTL + 5 s), an exception in an action,
an exception in a rollback (removal retries are proven on the recording driver, tests/unit/faults), the
target down, a safeguard trip}
x {fault proxy (a byte fault; a stream fault on its HTTP link), Redis, Kafka (librdkafka's mock cluster),
Chaos Mesh on the fake API server}. Each case checks the real server (or the fake API) itself, not only our
ledger, and the SIGKILL cases first check that the fault *is* still there, so the check can fail.

The TTL row runs its fault with a 3 s duration and ``CHAOSLLM_FAULT_GRACE=2``: TTL = 3 s + 2 s (the
shipped grace is 30 s); on Chaos Mesh "expired" means recovered by the object's ``duration`` (the
object itself stays until a cleanup, as in a real cluster).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import yaml

from chaoslib_ext._readiness import free_port
from chaoslib_ext.faults.kafka.probes import live_brokers
from chaoslib_ext.run.ledger import Ledger
from tests.integration.helpers import CHAOSLLM, ROOT, chaosllm, proxy_faults, run_dirs, wait_injected

CASES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL+cleanup", "SIGKILL+TTL", "action raises", "rollback raises",
         "target down", "safeguard")  # fmt: skip
EXPECTED = {"SIGINT": 3, "SIGTERM": 3, "SIGHUP": 3, "SIGKILL+cleanup": 0, "SIGKILL+TTL": -9, "action raises": 2,
            "rollback raises": 2, "target down": 2, "safeguard": 3}  # fmt: skip
TTL_DURATION_S, TTL_GRACE_S = 3.0, 2.0
RESULTS: dict[tuple[str, str], str] = {}


@dataclass
class Backend:
    name: str
    target: str
    fault: dict  # the provider of the fault action, held until the run ends
    clean: Callable[[], bool]  # True when the real server shows no trace of the fault
    dead_target: Callable[[Path], str]  # a target file whose fault endpoint is down
    expired: Callable[[], bool] | None = None  # after its TTL, if not ``clean`` (Chaos Mesh: recovered)


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def health():
    """An HTTP endpoint the safeguard case watches; the test turns it to 503."""
    handler = type("H", (Health,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def _copy_with(target: dict, path: Path, edit: Callable[[dict], None]) -> str:
    raw = json.loads(json.dumps(target))
    edit(raw)
    path.write_text(json.dumps(raw))
    return str(path)


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def proxy_backend(sandbox, name: str = "proxy", fault: dict | None = None) -> Backend:
    """A fault of the sandbox's fault proxy: by default a byte fault (a delay on the Redis link)."""
    control = sandbox["proxy"]["control_url"]
    return Backend(
        name,
        "sandbox",
        fault or {"module": "chaoslib_ext.faults.network.actions", "func": "network_fault",
                  "arguments": {"link": "redis", "action": "delay", "delay": {"latency": "200ms"}}},
        lambda: proxy_faults(control) == {},
        lambda d: _copy_with(sandbox, d / "dead.json", lambda t: t["proxy"].update(control_url=_dead_url())),
    )  # fmt: skip


def stream_backend(sandbox) -> Backend:
    """A stream fault on the sandbox's HTTP link: the fault proxy again, its HTTP framing and counters."""
    return proxy_backend(sandbox, "stream", {"module": "chaoslib_ext.faults.stream.actions", "func": "stream_fault",
                                             "arguments": {"link": "gateway", "action": "stall", "after_events": 1,
                                                           "hold": "300ms"}})  # fmt: skip


def redis_backend(redis_pair) -> Backend:
    def clean() -> bool:
        client = redis.Redis.from_url(redis_pair["primary"], socket_timeout=5)
        try:
            return client.config_get("maxmemory") == {"maxmemory": "0"} and client.config_get("maxmemory-policy") == {
                "maxmemory-policy": "noeviction"
            }
        finally:
            client.close()

    def dead(d: Path) -> str:
        port = free_port()
        raw = json.loads(Path(redis_pair["target"]).read_text())
        raw["services"]["redis"].update(real=f"redis://127.0.0.1:{port}/0", address=f"redis://127.0.0.1:{port}/0")
        return _copy_with(raw, d / "dead.json", lambda t: None)

    return Backend(
        "redis",
        str(redis_pair["target"]),
        {"module": "chaoslib_ext.faults.redis.actions", "func": "memory_pressure",
         "arguments": {"maxmemory": "1mb", "policy": "allkeys-lru"}},
        clean,
        dead,
    )  # fmt: skip


def kafka_backend(sandbox) -> Backend:
    def dead(d: Path) -> str:
        return _copy_with(
            sandbox, d / "dead.json", lambda t: t["services"]["kafka-cluster"].update(control=_dead_url())
        )

    return Backend(
        "kafka",
        "sandbox",
        {"module": "chaoslib_ext.faults.kafka.actions", "func": "broker_down", "arguments": {"broker": 3}},
        lambda: live_brokers("kafka-cluster", {"chaosllm_target": "sandbox"}) == 3,
        dead,
    )  # fmt: skip


def chaos_mesh_backend(kube_api, k8s_target, sandbox) -> Backend:
    # the example cluster target, its services reachable for the preflight (the sandbox's stand in)
    raw = yaml.safe_load(Path(k8s_target).read_text())
    for name in ("gateway", "redis", "kafka"):
        raw["services"][name]["address"] = sandbox["services"][name]["real"]
    reachable = Path(k8s_target).with_name("k8s-reachable.yaml")
    reachable.write_text(yaml.safe_dump(raw))

    def dead(d: Path) -> str:
        raw = yaml.safe_load(reachable.read_text())
        kubeconfig = Path(raw["chaos_mesh"]["kubeconfig"])
        dead_config = d / "dead-kubeconfig"
        dead_config.write_text(kubeconfig.read_text().replace(kube_api.url, _dead_url()))
        raw["chaos_mesh"]["kubeconfig"] = str(dead_config)
        return _copy_with(raw, d / "dead.json", lambda t: None)

    return Backend(
        "chaos-mesh",
        str(reachable),
        {"module": "chaoslib_ext.faults.network.actions", "func": "network_fault",
         "arguments": {"link": "redis", "action": "delay", "delay": {"latency": "200ms"}}},
        lambda: kube_api.live() == [],
        dead,
        lambda: kube_api.injecting() == [],
    )  # fmt: skip


@pytest.fixture
def backend(request, sandbox, redis_pair, kube_api, k8s_target):
    return {
        "proxy": lambda: proxy_backend(sandbox),
        "stream": lambda: stream_backend(sandbox),
        "redis": lambda: redis_backend(redis_pair),
        "kafka": lambda: kafka_backend(sandbox),
        "chaos-mesh": lambda: chaos_mesh_backend(kube_api, k8s_target, sandbox),
    }[request.param]()


def _action(name: str, module: str, func: str, **arguments) -> dict:
    provider = {"type": "python", "module": module, "func": func, "arguments": arguments}
    return {"type": "action", "name": name, "provider": provider}


def experiment(b: Backend, case: str, target: str, health_url: str) -> dict:
    provider = {"type": "python", **b.fault}
    if case == "SIGKILL+TTL":  # held for its duration by the action, which the SIGKILL cuts short
        provider["arguments"] = {**provider["arguments"], "duration": f"{TTL_DURATION_S:g}s"}
    fault = {"type": "action", "name": "the fault", "provider": provider}
    hold = _action("hold", "chaoslib_ext.load.actions", "observe", duration="60s", label="hold")
    boom = _action("boom", "tests.integration.kill_matrix_actions", "boom", where=case.split()[0])
    remove = _action("remove every fault", "chaoslib_ext.faults.actions", "remove_all_faults")
    method = {"action raises": [fault, boom], "rollback raises": [fault]}.get(case, [fault, hold])
    rollbacks = [boom, remove] if case == "rollback raises" else [remove]
    extension: dict = {"name": "chaosllm"}
    if case == "safeguard":
        extension["safeguards"] = {
            "recovery": "0s",
            "interval": "200ms",
            "stop_when": [{"name": "health endpoint", "http": {"url": health_url, "timeout": "1s"}}],
        }
    return {
        "version": "1.0.0",
        "title": f"kill matrix {b.name} {case}",
        "description": "one fault held until something ends the run",
        "configuration": {"chaosllm_target": target},
        "controls": [{"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}],
        "extensions": [extension],
        "method": method,
        "rollbacks": rollbacks,
    }


@pytest.mark.parametrize("backend", ["proxy", "stream", "redis", "kafka", "chaos-mesh"], indirect=True)
@pytest.mark.parametrize("case", CASES)
def test_kill_matrix(case, backend, health, tmp_path):
    handler, health_url = health
    handler.status = 200
    target = backend.dead_target(tmp_path) if case == "target down" else backend.target
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment(backend, case, target, health_url), sort_keys=False))
    out = tmp_path / "out"
    env = {"CHAOSLLM_FAULT_GRACE": f"{TTL_GRACE_S:g}"} if case == "SIGKILL+TTL" else {}
    argv = [*CHAOSLLM, "run", str(path), "--out", str(out)]
    started = time.monotonic()
    if case in ("action raises", "rollback raises", "target down"):
        result = chaosllm("run", str(path), "--out", str(out), env=env, cwd=ROOT, timeout=120)
        code, output = result.returncode, result.stdout + result.stderr
    else:
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env}
        )
        run = wait_injected(out, proc)
        if case == "safeguard":
            handler.status = 503
        elif case in ("SIGKILL+cleanup", "SIGKILL+TTL"):
            proc.kill()
        else:
            proc.send_signal(getattr(signal, case))
        output = proc.communicate(timeout=120)[0]
        code = proc.returncode
        if case == "SIGKILL+cleanup":
            assert code == -signal.SIGKILL
            assert not backend.clean(), "a SIGKILL must leave the fault in place for cleanup to find"
            cleanup = chaosllm("cleanup", "--root", str(out), timeout=120)
            assert f"{run.name}: fault " in cleanup.stdout, cleanup.stdout + cleanup.stderr
            code, output = cleanup.returncode, output + cleanup.stdout + cleanup.stderr
        if case == "SIGKILL+TTL":
            assert code == -signal.SIGKILL
            assert not backend.clean(), "a SIGKILL must leave the fault in place until it expires"
            _expire_and_check(backend, run, started)
            code = EXPECTED[case]
    elapsed = time.monotonic() - started
    if case == "SIGKILL+TTL":
        RESULTS[(case, backend.name)] = f"expired by itself, clean, {elapsed:.1f}s"
        tidy = chaosllm("cleanup", "--root", str(out), timeout=120)  # the ledger and leftover objects
        assert tidy.returncode == 0, tidy.stdout + tidy.stderr
        assert backend.clean()
        return
    RESULTS[(case, backend.name)] = f"exit {code}" + ("" if code == EXPECTED[case] else f" (expected {EXPECTED[case]})")
    assert code == EXPECTED[case], output[-3000:]
    assert backend.clean(), f"{case}: the fault is still in place on {backend.name}"
    if case == "target down":  # the preflight found it: nothing started, no run directory
        assert "preflight_failed (exit code 2): nothing ran" in output, output[-3000:]
        assert "FAILED" in output
        assert run_dirs(out) == []
        assert elapsed < 60, f"a dead target held the run {elapsed:.0f}s"
        RESULTS[(case, backend.name)] += f", nothing started, {elapsed:.1f}s"
        return
    [run] = run_dirs(out)
    assert [e.id for e in Ledger(run / "ledger.json").outstanding()] == []
    events = json.loads((run / "timeline.json").read_text())["events"]
    kinds = [e["kind"] for e in events]
    if case == "rollback raises":  # removal retries are proven on the recording driver (tests/unit/faults)
        assert "fault_removed" in kinds
        assert "boom in the rollback" in output
    if case == "safeguard":
        trip = next(e for e in events if e["kind"] == "safeguard_tripped")
        removed = next(e for e in events if e["kind"] == "fault_removed")
        assert removed["at"] - trip["at"] < 5.0
        assert "safeguard 'health endpoint' tripped: HTTP 503" in output
    RESULTS[(case, backend.name)] += f", clean, {elapsed:.1f}s"


def _expire_and_check(backend: Backend, run: Path, started: float) -> None:
    """Nothing removes the fault: wait until its TTL + 5 s from injection, then the server must be clean."""
    [entry] = [e for e in Ledger(run / "ledger.json").entries() if e.injected_at]
    deadline = entry.injected_at + TTL_DURATION_S + TTL_GRACE_S + 5.0
    expired = backend.expired or backend.clean
    while time.time() < deadline and not expired():
        time.sleep(0.2)
    assert expired(), (
        f"the fault on {backend.name} is still in effect {TTL_DURATION_S + TTL_GRACE_S + 5:g}s after injection"
    )


def test_print_the_matrix():
    """Runs last in this module: the matrix as a table (pytest -s shows it; -ra keeps it in the log)."""
    if not RESULTS:
        pytest.skip("no case of the matrix ran")
    names = ["proxy", "stream", "redis", "kafka", "chaos-mesh"]
    rows = [
        f"| {case:<16} | " + " | ".join(f"{RESULTS.get((case, n), '-'):<32}" for n in names) + " |" for case in CASES
    ]
    header = f"| {'case':<16} | " + " | ".join(f"{n:<32}" for n in names) + " |"
    print("\nKill matrix (exit code, state after, time):\n" + "\n".join([header, *rows]))
