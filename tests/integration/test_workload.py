"""Workloads against real servers: requested token lengths are served, on the sandbox (a whitespace
tokenizer, exact output lengths) and on llama.cpp (its own tokenizer; output held by a logit bias on
its end-of-sequence tokens; its streams carry no usage, so the check before the load says what it
counts)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.helpers import ROOT, chaosllm
from tests.integration.test_canaries import assert_nowhere

KEY_ENV = "CHAOSLLM_TEST_LLAMA_KEY"
SYNTHETIC = {
    "input_tokens": {"dist": "lognormal", "mean": 160, "sd": 60, "min": 24, "max": 600},
    "output_tokens": {"dist": "uniform", "min": 8, "max": 40},
    "shared_prefix": {"share": 0.5, "tokens": 16},
}


def _lengths(out: Path) -> tuple[dict, dict]:
    summary = json.loads((out / "summary.json").read_text())
    return summary["phases"]["overall"]["lengths"], summary["load"]["workload_made"]


def test_the_sandbox_serves_the_lengths_asked(sandbox, tmp_path):
    out = tmp_path / "run"
    result = chaosllm("load", "--target", "sandbox", "--model", "sandbox-v1", "--rate", "10", "--seed", "5",
                      "--duration", "6s", "--warmup", "1s", "--workload", json.dumps(SYNTHETIC), "--out", str(out),
                      timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Token lengths per phase" in result.stdout
    lengths, made = _lengths(out)
    assert lengths["input_tokens"]["count"] >= 30
    assert lengths["input_error"] <= 0.05
    assert lengths["output_error"] <= 0.05
    assert lengths["input_overhead_tokens"] == 0  # whitespace tokens, no chat template
    assert 24 <= lengths["requested_input_tokens"]["min"] <= lengths["requested_input_tokens"]["max"] <= 600
    assert (made["tokenizer"], made["output_control"], made["template_tokens"]) == ("vllm", "ignore_eos", 0)
    assert made["median_error"] == 0.0


def test_a_dataset_is_sampled_and_its_replies_set_the_output_lengths(sandbox, tmp_path):
    out = tmp_path / "run"
    workload = {"dataset": {"path": str(ROOT / "tests" / "data" / "datasets" / "sharegpt.json"), "format": "sharegpt"}}
    result = chaosllm("load", "--target", "sandbox", "--model", "sandbox-v1", "--users", "2", "--max-tokens", "20",
                      "--duration", "4s", "--warmup", "1s", "--workload", json.dumps(workload), "--out", str(out),
                      timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lengths, _ = _lengths(out)
    assert lengths["input_error"] == 0.0
    assert lengths["output_error"] == 0.0
    # the three prompts: 11, 7 and 9 words; replies of 31 and 12 words, the third none (max_tokens 20)
    assert {lengths["requested_input_tokens"]["min"], lengths["requested_input_tokens"]["max"]} == {7.0, 11.0}
    assert {lengths["requested_output_tokens"]["min"], lengths["requested_output_tokens"]["max"]} == {12.0, 31.0}


def test_llama_cpp_serves_the_lengths_asked_within_5_percent(llama_server, tmp_path):
    # 24 s of one stream: CI once measured 3.6 s per request (E2EL p50) here, 2 requests in 12 s
    out = tmp_path / "run"
    workload = {"input_tokens": {"dist": "uniform", "min": 48, "max": 200}, "output_tokens": {"dist": "uniform",
                "min": 12, "max": 32}}  # fmt: skip
    result = chaosllm("load", "--url", llama_server["url"], "--model", llama_server["model"], "--api-key-env", KEY_ENV,
                      "--users", "1", "--duration", "24s", "--warmup", "1s", "--workload", json.dumps(workload),
                      "--out", str(out), env={KEY_ENV: llama_server["key"]}, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lengths, made = _lengths(out)
    assert (made["tokenizer"], made["output_control"]) == ("llama-cpp", "logit_bias")
    assert made["template_tokens"] > 0  # the chat template's tokens: counted by the server, not asked
    assert made["served_requests"] == 5
    assert made["served_median_error"] <= 0.05
    assert made["median_error"] <= 0.05
    assert lengths["requested_output_tokens"]["count"] >= 3
    assert lengths["output_error"] <= 0.05
    assert "output lengths held with a -100 logit_bias" in (out / "report.md").read_text()
    assert_nowhere(llama_server["key"], tmp_path, result.stdout, result.stderr)


def test_a_server_without_a_tokenizer_is_refused_naming_the_way_out(calibration_server, tmp_path):
    workload = json.dumps({"input_tokens": 32})
    result = chaosllm("load", "--url", calibration_server, "--users", "1", "--duration", "2s", "--workload", workload,
                      "--out", str(tmp_path / "run"), timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "has no tokenize endpoint" in result.stdout + result.stderr
    assert "tokenizer.json" in result.stdout + result.stderr


def _word_tokenizer(path: Path, words: list[str]) -> Path:
    """A tokenizer.json of the ``tokenizers`` package: one token per whitespace-separated known word."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(path))
    return path


def test_a_local_tokenizer_json_makes_the_prompts_and_uncontrolled_outputs_are_said(sandbox, tmp_path):
    from chaoslib_ext.load.prepare import CANDIDATE_WORDS

    tok = _word_tokenizer(tmp_path / "tokenizer.json", list(CANDIDATE_WORDS))
    out = tmp_path / "run"
    workload = {"input_tokens": {"dist": "normal", "mean": 80, "sd": 20, "min": 20, "max": 200}, "tokenizer": str(tok)}
    result = chaosllm("load", "--target", "sandbox", "--model", "sandbox-v1", "--users", "2", "--max-tokens", "16",
                      "--duration", "4s", "--warmup", "1s", "--workload", json.dumps(workload), "--out", str(out),
                      timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lengths, made = _lengths(out)
    assert (made["tokenizer"], made["output_control"]) == ("file", "none")
    assert lengths["input_error"] == 0.0  # whitespace words either way
    assert "output lengths NOT controlled" in (out / "report.md").read_text()
