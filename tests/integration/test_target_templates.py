"""The target templates of experiments/targets/, each against a replay of its server's documented
stream format (tests/data/transcripts): the real load generator sends the template's path, model and
key, and counts what that server's stream says; a refused request ends as an error naming the
server's own message. (These servers cannot run here; llama.cpp also runs live in test_llama_cpp.)"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from chaoslib_ext.samples import read_samples
from chaoslib_ext.target import load_target
from tests.integration.helpers import ROOT, chaosllm, stop, wait_ready_file
from tests.integration.test_canaries import assert_nowhere

TEMPLATES = ROOT / "experiments" / "targets"
TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"

# template -> (key variable, content events, tokens by usage, error text)
CASES = {
    "vllm": ("VLLM_API_KEY", 7, 8, "The model `llama-9000` does not exist."),
    "openai": ("OPENAI_API_KEY", 8, 8, "Incorrect API key provided"),
    "llama-cpp": ("LLAMA_API_KEY", 8, 8, "Invalid API Key"),
    "tgi": ("HF_TOKEN", 8, 8, "Input validation error"),
    "ollama": (None, 8, 8, 'model \\"llama9\\" not found, try pulling it first'),
}


def replay(tmp_path: Path, transcript: Path, path: str, model: str, key_env: str | None, env: dict):
    ready = tmp_path / f"replay-{transcript.stem}.ready"
    argv = [sys.executable, "-m", "tests.fakes.replay_server", "--transcript", str(transcript), "--path", path,
            "--model", model, "--ready-file", str(ready), *(["--key-env", key_env] if key_env else [])]  # fmt: skip
    log = (tmp_path / f"replay-{transcript.stem}.log").open("w")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=log, env=env)
    return proc, wait_ready_file(proc, ready)["url"], log


def template_at(tmp_path: Path, name: str, url: str) -> Path:
    """The template with its gateway at ``url`` (its base path kept)."""
    raw = yaml.safe_load((TEMPLATES / f"{name}.yaml").read_text())
    original = raw["services"]["gateway"]["address"]
    raw["services"]["gateway"]["address"] = url + urlsplit(original).path
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_template_streams_and_counts_as_its_server_sends(name, tmp_path):
    import os

    key_env, events, tokens, error_text = CASES[name]
    template = load_target(str(TEMPLATES / f"{name}.yaml"))  # it parses as shipped
    endpoint = template.service("gateway").endpoint
    assert endpoint is not None
    assert endpoint.model
    assert template.needs_local_proxy  # each run puts a fault proxy in front of it
    key = f"canary-{secrets.token_hex(8)}"
    env = {**os.environ, **({key_env: key} if key_env else {})}
    for kind in ("chat.sse", "error.json"):
        proc, url, log = replay(
            tmp_path, TRANSCRIPTS / f"{name}-{kind}", str(endpoint.path), endpoint.model, key_env, env
        )
        try:
            out = tmp_path / kind
            result = chaosllm(
                "load", "--target", str(template_at(tmp_path, name, url)), "--users", "1", "--duration", "2s",
                "--max-tokens", "8", "--warmup", "0s", "--out", str(out), env=env, timeout=120,
            )  # fmt: skip
        finally:
            stop(proc)
            log.close()
        if kind == "chat.sse":
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            samples = list(read_samples(out / "samples"))
            assert samples
            assert {(s.ok, s.events, s.tokens) for s in samples} == {(True, events, tokens)}
        else:
            assert result.returncode == 2
            reasons = json.loads((out / "summary.json").read_text())["outcome"]["reasons"]
            assert error_text in reasons[0], reasons
        if key_env:
            assert_nowhere(key, out, result.stdout, result.stderr)


def test_an_error_event_inside_a_tgi_stream_fails_the_request_and_keeps_its_tokens(tmp_path):
    import os

    env = {**os.environ, "HF_TOKEN": "tgi-token-for-the-test"}
    proc, url, log = replay(
        tmp_path, TRANSCRIPTS / "tgi-stream-error.sse", "/v1/chat/completions", "tgi", "HF_TOKEN", env
    )
    try:
        out = tmp_path / "run"
        result = chaosllm(
            "load", "--target", str(template_at(tmp_path, "tgi", url)), "--users", "1", "--duration", "2s",
            "--max-tokens", "8", "--warmup", "0s", "--out", str(out), env=env, timeout=120,
        )  # fmt: skip
    finally:
        stop(proc)
        log.close()
    assert result.returncode == 2  # only failures: the load never got a successful request
    samples = list(read_samples(out / "samples"))
    assert samples
    assert {(s.ok, s.events) for s in samples} == {(False, 3)}
    assert {s.error for s in samples} == {
        "error event: Request failed during generation: Server error: CUDA out of memory"
    }
