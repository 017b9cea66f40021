"""Nothing leaked: a canary credential per entry point is really used against a real server, and then
appears in no file of the run root (run directories and the history database) and nowhere in the
captured output.

Entry points: ``--header``, ``--header-env``, ``--var-file`` secrets, a password in a target URL, a
Redis ACL password by environment variable (the fault's undo looks it up again after a SIGKILL), Kafka
SASL credentials, the run's control endpoint token (``--control-token-env``). The experiment ``secrets``
block has its own test (test_secrets.py) and a keyed gateway target has test_keyed_target.py.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
import yaml

from chaoslib_ext._processes import spawn_detached
from chaoslib_ext._processes import stop as stop_process
from chaoslib_ext._readiness import free_port, wait_for
from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.sandbox import binaries
from tests.integration.helpers import CHAOSLLM, ROOT, chaosllm, run_dirs

CONTROL = {"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}


def canary() -> str:
    return f"canary-{secrets.token_hex(12)}"


def assert_nowhere(value: str, root: Path, *outputs: str) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, f"nothing under {root}"
    leaks = [str(p.relative_to(root)) for p in files if value.encode() in p.read_bytes()]
    assert leaks == [], f"{value} leaked into {leaks}"
    for text in outputs:
        assert value not in text


def load(url: str, out: Path, *extra: str, env: dict | None = None):
    argv = ("load", "--url", url, "--users", "2", "--duration", "2s", "--warmup", "0s", "--max-tokens", "4")
    return chaosllm(*argv, "--out", str(out / "run"), *extra, env=env, timeout=120)


def test_a_key_given_with_header_is_in_no_file(calibration_server, tmp_path):
    key = canary()
    result = load(calibration_server, tmp_path, "--header", f"Authorization: Bearer {key}")
    assert result.returncode == 0, result.stderr
    spec = json.loads((tmp_path / "run" / "load" / "spec.json").read_text())
    assert spec["headers"] == {"Authorization": "***"}
    assert (tmp_path / "run" / "history.sqlite").exists() or (tmp_path / "history.sqlite").exists()
    assert_nowhere(key, tmp_path, result.stdout, result.stderr)


def test_a_key_given_by_header_env_is_in_no_file(calibration_server, tmp_path):
    key = canary()
    result = load(calibration_server, tmp_path, "--header-env", "X-Api-Key:CANARY_KEY", env={"CANARY_KEY": key})
    assert result.returncode == 0, result.stderr
    spec = json.loads((tmp_path / "run" / "load" / "spec.json").read_text())
    assert spec["headers"] == {"X-Api-Key": {"env": "CANARY_KEY"}}
    assert_nowhere(key, tmp_path, result.stdout, result.stderr)


def test_a_header_env_that_is_not_set_is_named(calibration_server, tmp_path):
    result = load(calibration_server, tmp_path, "--api-key-env", "CANARY_UNSET_VAR")
    assert result.returncode == 2
    reasons = json.loads((tmp_path / "run" / "summary.json").read_text())["outcome"]["reasons"]
    assert "the environment variable CANARY_UNSET_VAR is not set or empty" in reasons[0]


def test_a_var_file_secret_used_in_a_header_is_in_no_file(calibration_server, tmp_path):
    key = canary()
    var_file = tmp_path / "vars.yaml"
    var_file.write_text(yaml.safe_dump({"secrets": {"token": key}}))
    experiment = {
        "version": "1.0.0",
        "title": "var-file canary",
        "description": "a --var-file secret in a load header",
        "controls": [CONTROL],
        "extensions": [
            {
                "name": "chaosllm",
                "load": {
                    "url": calibration_server,
                    "users": 2,
                    "max_tokens": 4,
                    "warmup": "0s",
                    "headers": {"Authorization": "Bearer ${token}"},
                },
                "hypotheses": [{"name": "no error", "phase": "overall", "metric": "error_rate", "expect": "<= 0.01"}],
            }
        ],
        "method": [_observe("2s")],
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    out = tmp_path / "out"
    result = chaosllm("run", str(path), "--var-file", str(var_file), "--out", str(out), cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert_nowhere(key, out, result.stdout, result.stderr)


def test_the_control_endpoints_token_is_checked_and_in_no_file(calibration_server, tmp_path):
    """``--control-token-env``: the run's endpoint wants the token on every request, and the token (read
    from the environment) appears in no file of the run and in no output; control.json says only that
    a token is needed."""
    token = canary()
    experiment = {
        "version": "1.0.0", "title": "control token canary", "description": "the endpoint's bearer token",
        "controls": [CONTROL],
        "extensions": [{"name": "chaosllm", "load": {"url": calibration_server, "users": 2, "max_tokens": 4,
                                                     "warmup": "0s"},
                        "hypotheses": [{"name": "no error", "phase": "overall", "metric": "error_rate",
                                        "expect": "<= 0.01"}]}],
        "method": [_observe("4s")],
    }  # fmt: skip
    path, out = tmp_path / "experiment.yaml", tmp_path / "out"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    argv = [*CHAOSLLM, "run", str(path), "--out", str(out), "--control-token-env", "CANARY_CONTROL_TOKEN"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "CANARY_CONTROL_TOKEN": token})  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any((r / "control.json").exists() for r in run_dirs(out)) and time.monotonic() < deadline:
            time.sleep(0.05)
        [run] = run_dirs(out)
        control = json.loads((run / "control.json").read_text())
        assert control["token"] is True
        assert requests.get(control["url"] + "/status", timeout=5).status_code == 401
        auth = {"authorization": f"Bearer {token}"}
        assert requests.post(control["url"] + "/note", json={"text": "seen"}, headers=auth, timeout=5).ok
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout[-2000:] + stderr[-2000:]
    assert "seen" in (run / "timeline.json").read_text()
    experiment_json = json.loads((run / "experiment.json").read_text())
    assert experiment_json["configuration"]["chaosllm_control_token"] == {"env": "CANARY_CONTROL_TOKEN"}
    assert_nowhere(token, out, stdout, stderr)


def _observe(duration: str) -> dict:
    return {
        "type": "action",
        "name": "hold",
        "provider": {"type": "python", "module": "chaoslib_ext.load.actions", "func": "observe",
                     "arguments": {"duration": duration, "label": "hold"}},
    }  # fmt: skip


# --- Redis with an ACL user -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory):
    """A real Redis whose only user is ``app`` with a canary password (the default user is off)."""
    home = tmp_path_factory.mktemp("acl-redis")
    password, port = canary(), free_port()
    acl = ("--user", "default", "off", "--user", "app", "on", f">{password}", "~*", "&*", "+@all")
    record = spawn_detached("acl-redis", binaries.redis_server_argv("127.0.0.1", port, home, *acl), home / "log")

    def up() -> bool | None:
        client = redis.Redis(port=port, username="app", password=password, socket_timeout=0.5)
        try:
            return bool(client.ping()) or None
        except redis.RedisError:
            return None
        finally:
            client.close()

    try:
        wait_for(record, "PING as app", up, 20)
        yield {"port": port, "password": password}
    finally:
        stop_process(record, grace_s=5)


def _memory_setting(server) -> str:
    client = redis.Redis(port=server["port"], username="app", password=server["password"], decode_responses=True)
    try:
        return str(client.config_get("maxmemory")["maxmemory"])
    finally:
        client.close()


def _redis_experiment(target: Path, hold: str) -> dict:
    fault = {"type": "python", "module": "chaoslib_ext.faults.redis.actions", "func": "memory_pressure",
             "arguments": {"maxmemory": "2mb", "policy": "allkeys-lru"}}  # fmt: skip
    reachable = {"type": "python", "module": "chaoslib_ext.faults.redis.probes", "func": "redis_reachable"}
    return {
        "version": "1.0.0",
        "title": "redis credentials canary",
        "description": "a Redis fault and probe with credentials",
        "configuration": {"chaosllm_target": str(target)},
        "controls": [CONTROL],
        "steady-state-hypothesis": {
            "title": "redis answers",
            "probes": [{"type": "probe", "name": "reachable", "tolerance": True, "provider": reachable}],
        },
        "method": [{"type": "action", "name": "memory pressure", "provider": fault}, _observe(hold)],
        "rollbacks": [
            {
                "type": "action",
                "name": "remove every fault",
                "provider": {"type": "python", "module": "chaoslib_ext.faults.actions", "func": "remove_all_faults"},
            }
        ],
    }


def _redis_target(tmp_path: Path, service: dict) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(
        yaml.safe_dump({"kind": "chaosllm/target", "version": 1, "name": "acl", "services": {"redis": service}})
    )
    return path


@pytest.mark.parametrize("how", ["password in the target URL", "password by environment variable"])
def test_redis_credentials_are_used_and_in_no_file_even_after_a_sigkill_and_cleanup(acl_redis, tmp_path, how):
    password, port = acl_redis["password"], acl_redis["port"]
    if how == "password in the target URL":
        service, env = {"address": f"redis://app:{password}@127.0.0.1:{port}/0"}, {}
    else:
        service = {
            "address": f"redis://127.0.0.1:{port}/0",
            "auth": {"username": "app", "password": {"env": "CANARY_REDIS_PW"}},
        }
        env = {"CANARY_REDIS_PW": password}
    target = _redis_target(tmp_path, service)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(_redis_experiment(target, "60s"), sort_keys=False))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CHAOSLLM, "run", str(path), "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(e.state == "injected" for r in run_dirs(out) for e in Ledger(r / "ledger.json").entries()):
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the fault never went in"
        time.sleep(0.05)
    assert _memory_setting(acl_redis) == str(2 * 1024 * 1024)  # the credentials worked: the fault is in
    proc.send_signal(signal.SIGKILL)
    output = proc.communicate(timeout=30)[0]
    [run] = run_dirs(out)
    undo = Ledger(run / "ledger.json").entries()[0].undo
    assert undo["server"]["target"] == str(target)  # looked up again, never written
    cleanup = chaosllm("cleanup", "--root", str(out), env=env, timeout=60)
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert _memory_setting(acl_redis) == "0"
    assert_nowhere(password, out, output, cleanup.stdout, cleanup.stderr)


def test_redis_cleanup_names_a_credential_it_cannot_find(acl_redis, tmp_path):
    password, port = acl_redis["password"], acl_redis["port"]
    service = {
        "address": f"redis://127.0.0.1:{port}/0",
        "auth": {"username": "app", "password": {"env": "CANARY_REDIS_PW"}},
    }
    target = _redis_target(tmp_path, service)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(_redis_experiment(target, "1s"), sort_keys=False))
    result = chaosllm("run", str(path), "--out", str(tmp_path / "out"), env={"CANARY_REDIS_PW": ""}, cwd=ROOT)
    assert result.returncode == 2
    assert "preflight_failed (exit code 2): nothing ran" in result.stdout
    assert "the environment variable CANARY_REDIS_PW is not set or empty" in result.stderr
    assert _memory_setting(acl_redis) == "0"
    assert run_dirs(tmp_path / "out") == []
    assert password not in result.stdout + result.stderr


# --- Kafka with SASL ----------------------------------------------------------------------------------


@pytest.fixture
def sasl_broker(tmp_path):
    """Tansu requiring SASL authentication of every client."""
    port = free_port()
    argv = [str(binaries.tansu()), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--storage-engine", "memory://tansu/",
            "--authentication"]  # fmt: skip
    record = spawn_detached("sasl-tansu", argv, tmp_path / "tansu.log")
    try:
        from chaoslib_ext._readiness import wait_port

        wait_port(record, "127.0.0.1", port, 20)
        yield port
    finally:
        stop_process(record, grace_s=10)


def test_kafka_sasl_credentials_reach_the_broker_and_no_file(sasl_broker, tmp_path):
    password = canary()
    auth = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512", "username": "app",
            "password": {"env": "CANARY_KAFKA_PW"}}  # fmt: skip
    target = tmp_path / "target.yaml"
    target.write_text(
        yaml.safe_dump(
            {
                "kind": "chaosllm/target",
                "version": 1,
                "name": "sasl",
                "services": {"kafka": {"address": f"127.0.0.1:{sasl_broker}", "auth": auth}},
            }
        )
    )
    probe = {"type": "python", "module": "chaoslib_ext.faults.kafka.probes", "func": "live_brokers"}
    experiment = {
        "version": "1.0.0",
        "title": "kafka sasl canary",
        "description": "a Kafka probe with SASL credentials",
        "configuration": {"chaosllm_target": str(target)},
        "controls": [CONTROL],
        "method": [{"type": "probe", "name": "brokers", "provider": probe}],
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    out = tmp_path / "out"
    env = {"CANARY_KAFKA_PW": password}
    check = chaosllm("check", str(target), env=env)  # the preflight says it, without the password
    assert check.returncode == 2
    assert "FAILED  Kafka metadata" in check.stdout
    assert password not in check.stdout + check.stderr
    result = chaosllm("run", str(path), "--out", str(out), "--no-check", env=env, cwd=ROOT)
    [run] = run_dirs(out)
    journal = json.loads((run / "journal.json").read_text())
    [probe_run] = journal["run"]
    # the broker knows no user: it refused the SCRAM exchange our client started with these credentials
    assert probe_run["status"] == "failed"
    assert "Kafka metadata from kafka" in probe_run["exception"][-1]
    assert result.returncode == 2
    assert_nowhere(password, out, result.stdout, result.stderr)
