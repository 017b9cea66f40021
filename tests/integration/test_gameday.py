"""A game day driven through its console in a real terminal (tmux send-keys), on the sandbox: the
preflight, approving the baseline and a Redis delay, a note, an observation, the abort key. The fault
is gone from the real proxy within 2 s of the key; the record and the postmortem hold what happened;
the HTML report draws the note on its timeline and links the record."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml

from tests.integration.helpers import CHAOSLLM, ROOT, activity, experiment, observe, pid_alive, proxy_faults, run_dirs

NOTE = "TTFT p99 climbs, throughput holds"


def gameday_experiment() -> dict:
    method = [observe("baseline", "3s"),
              activity("slow redis", "faults.network.actions", "network_fault", link="redis", action="delay",
                       delay={"latency": "150ms"}, duration="60s"),
              observe("recovery", "10s")]  # fmt: skip
    exp = experiment("game day on the prompt cache", method, target="sandbox",
                     load={"users": 4, "max_tokens": 8, "warmup": "1s"},
                     hypotheses=[{"name": "baseline answered", "phase": "baseline", "metric": "error_rate",
                                  "expect": "<= 0.01"}])  # fmt: skip
    exp["extensions"][0]["safeguards"] = {"recovery": "3s", "stop_when": [
        {"name": "errors", "metric": "error_rate", "window": "5s", "above": 0.5}]}  # fmt: skip
    exp["configuration"]["chaosllm_gameday"] = {"scribe": "bo", "observers": ["cy"]}
    return exp


class Terminal:
    """A tmux session running one command; keys in, screen out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout


@contextmanager
def terminal(command: str, name: str) -> Iterator[Terminal]:
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "180", "-y", "50", command], check=True)
    try:
        yield Terminal(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def until(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def control_url(out: Path) -> str | None:
    for run in run_dirs(out):
        if (run / "control.json").is_file():
            return str(json.loads((run / "control.json").read_text())["url"])
    return None


def step_state(url: str, index: int) -> str:
    return str(requests.get(url + "/status", timeout=5).json()["steps"]["steps"][index]["state"])


def test_a_game_day_through_its_console(sandbox, sandbox_state, tmp_path):
    state_dir, _ = sandbox_state
    path = tmp_path / "gameday.yaml"
    path.write_text(yaml.safe_dump(gameday_experiment(), sort_keys=False))
    out, code_file = tmp_path / "out", tmp_path / "exit-code"
    argv = [*CHAOSLLM, "gameday", str(path), "--out", str(out), "--facilitator", "ana", "--preflight-window", "3s"]
    command = (f"cd {shlex.quote(str(ROOT))} && CHAOSLLM_STATE_DIR={shlex.quote(str(state_dir))} "
               f"{shlex.join(argv)}; echo $? > {shlex.quote(str(code_file))}")  # fmt: skip
    proxy = sandbox["proxy"]["control_url"]
    with terminal(command, f"chaosllm-gameday-{tmp_path.name}"[:60]) as term:
        url = str(until("the run's control endpoint", lambda: control_url(out), 120))
        until("the preflight, then the first step waiting", lambda: step_state(url, 0) == "waiting", 60)
        until("the console drawing the run", lambda: "TTFT p50" in term.screen() and "0:baseline" in term.screen())
        term.keys("n")  # approve the baseline
        until("the fault's step waiting", lambda: step_state(url, 1) == "waiting", 30)
        term.keys("n")  # approve the Redis delay
        until("the delay on the real proxy", lambda: "redis" in proxy_faults(proxy), 10)
        term.keys(":")
        until("the note's prompt", lambda: "what do you see?" in term.screen(), 10)  # as a person would
        term.keys(NOTE, "Enter")
        until("the prompt closed", lambda: "what do you see?" not in term.screen(), 10)
        term.keys("x")
        until("the observation's prompt", lambda: "what is wrong?" in term.screen(), 10)
        term.keys("p99 over 200 ms", "Enter")
        run = run_dirs(out)[0]
        until("the note in the timeline", lambda: NOTE in (run / "timeline.json").read_text(), 10)
        until("the observation", lambda: "p99 over 200 ms" in (run / "timeline.json").read_text(), 10)
        pressed = time.monotonic()
        term.keys("A")
        until("the delay gone from the proxy", lambda: not proxy_faults(proxy), 2.0)
        gone_s = time.monotonic() - pressed
        until("the run's end on the console", lambda: "the run ended: exit code 3" in term.screen(), 90)
        term.keys("q")
        until("the console's exit", code_file.exists, 30)
    print(f"\ngame day: the delay was gone from the proxy {gone_s * 1000:.0f} ms after the abort key")
    assert code_file.read_text().strip() == "3"
    assert gone_s < 2.0
    record = json.loads((run / "gameday" / "record.json").read_text())
    assert record["roles"] == {"facilitator": "ana", "scribe": "bo", "observers": ["cy"]}  # flags over the file
    assert {p["check"] for p in record["preflight"]} >= {"baseline healthy", "abort lock", "stop conditions",
                                                          "faults planned", "Redis PING"}  # fmt: skip
    assert all(p["ok"] for p in record["preflight"])
    assert record["abort"]["via"] == "POST /abort"
    assert record["abort"]["who"] == "ana"
    assert record["abort"]["verified"] == ["delay-redis"]
    assert any(row["observed"] == f"note (ana): {NOTE}" for row in record["log"])
    assert any(row["steady_state_ok"] is False for row in record["log"])
    assert [r["action"] for r in record["log"] if r["action"].startswith("step")] == [
        "step 'baseline' approved (ana)", "step 'slow redis' approved (ana)"]  # fmt: skip
    assert record["outcome"]["cause"] == "operator_abort"
    md = (run / "gameday" / "record.md").read_text()
    assert NOTE in md
    assert "## Abort" in md
    assert "verified gone on their backends: delay-redis" in md
    postmortem = (run / "gameday" / "postmortem.md").read_text()
    assert "## The worst minute" in postmortem
    assert "faults in force: delay-redis" in postmortem
    html = (run / "report.html").read_text()
    charts = html.split('id="timeline"', 1)[1].split("</div>", 1)[0]
    assert f"<title>{NOTE}</title>" in charts  # drawn on the timeline charts, its text on the mark
    assert '<text class="mark"' in charts
    assert 'href="gameday/record.md"' in html


def test_a_game_day_whose_console_is_killed_aborts_by_itself(sandbox, sandbox_state, tmp_path):
    """SIGKILL of the console (the terminal closed, the laptop gone): the run notices within a second or
    two, aborts, removes the fault and exits 3; nothing is left on the real proxy."""
    state_dir, _ = sandbox_state
    path = tmp_path / "gameday.yaml"
    path.write_text(yaml.safe_dump(gameday_experiment(), sort_keys=False))
    out = tmp_path / "out"
    argv = [*CHAOSLLM, "gameday", str(path), "--out", str(out), "--preflight-window", "2s"]
    command = f"cd {shlex.quote(str(ROOT))} && CHAOSLLM_STATE_DIR={shlex.quote(str(state_dir))} {shlex.join(argv)}"
    proxy = sandbox["proxy"]["control_url"]
    with terminal(command, f"chaosllm-killed-{tmp_path.name}"[:60]):
        url = str(until("the run's control endpoint", lambda: control_url(out), 120))
        for step in (0, 1):  # approved over the endpoint, as a second screen would
            until(f"step {step} waiting", lambda s=step: step_state(url, s) == "waiting", 60)
            requests.post(url + "/steps/next", json={"who": "second screen"}, timeout=10).raise_for_status()
        until("the delay on the real proxy", lambda: "redis" in proxy_faults(proxy), 10)
        run = run_dirs(out)[0]
        console = json.loads((run / "experiment.json").read_text())["configuration"]["chaosllm_gameday"]["console_pid"]
        killed = time.monotonic()
        os.kill(console, signal.SIGKILL)
        until("the delay gone from the proxy", lambda: not proxy_faults(proxy), 5.0)
        gone_s = time.monotonic() - killed
        owner = json.loads((run / "owner.json").read_text())["pid"]
        until("the run's end", lambda: not pid_alive(owner), 90)
    print(f"\ngame day: the console killed, the delay was gone from the proxy {gone_s:.2f} s later")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"]["cause"] == "operator_abort"
    assert "the game day console" in summary["outcome"]["reasons"][0]
    record = json.loads((run / "gameday" / "record.json").read_text())
    assert record["abort"]["via"] == "the console's end"
    assert record["abort"]["verified"] == ["delay-redis"]
    assert gone_s < 5.0
