"""Workloads: length distributions, request draws, datasets and the prompts made from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.load.datasets import read_dataset
from chaoslib_ext.load.prompts import Prompts
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.load.workload import Lengths, Workload

DATA = Path(__file__).resolve().parents[2] / "data" / "datasets"
WORDS = [f"w{i}" for i in range(64)]


@pytest.mark.parametrize(
    ("raw", "mean", "sd"),
    [
        ({"dist": "normal", "mean": 200, "sd": 40, "min": 1}, 200, 40),
        ({"dist": "lognormal", "mean": 200, "sd": 80, "min": 1}, 200, 80),
        ({"dist": "uniform", "min": 100, "max": 300}, 200, 200 / 12**0.5),
    ],
)
def test_lengths_follow_their_distribution(raw, mean, sd):
    values = Lengths.parse(raw, "w").sample(np.random.default_rng(1), 20_000)
    assert values.dtype == np.int64
    assert values.mean() == pytest.approx(mean, rel=0.02)
    assert values.std() == pytest.approx(sd, rel=0.05)


def test_lengths_are_clipped_and_a_number_is_fixed():
    clipped = Lengths.parse({"dist": "normal", "mean": 100, "sd": 100, "min": 50, "max": 120}, "w")
    values = clipped.sample(np.random.default_rng(2), 5000)
    assert (values.min(), values.max()) == (50, 120)
    assert set(Lengths.parse(64, "w").sample(np.random.default_rng(3), 10)) == {64}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"input_tokens": {"dist": "uniform", "min": 8}}, "uniform needs min and max"),
        ({"input_tokens": {"dist": "zipf", "mean": 5}}, "zipf"),
        ({"input_tokens": {"dist": "normal", "mean": 50, "sd": 5, "min": 60, "max": 40}}, "max 40 is below min 60"),
        ({"input_tokens": 32, "shared_prefix": {"share": 0.5, "tokens": 32}}, "not below input_tokens' min 32"),
        ({"dataset": {"path": "x.jsonl"}, "input_tokens": 32}, "a dataset brings its own prompts"),
        ({"output_tokens": 32}, "needs input_tokens or a dataset"),
        ({"input_tokens": 32, "output_control": "magic"}, "magic"),
    ],
)
def test_bad_workloads_name_the_field(raw, says):
    with pytest.raises(SpecError, match=says):
        Workload.parse(raw, "load.workload")


def test_a_request_draws_the_same_lengths_under_the_same_seed():
    w = Workload.parse({"input_tokens": {"dist": "uniform", "min": 10, "max": 500}, "output_tokens": 16,
                        "shared_prefix": {"share": 0.25, "tokens": 4}}, "w")  # fmt: skip
    draws = [w.draw(7, i, 64) for i in range(2000)]
    assert draws == [w.draw(7, i, 64) for i in range(2000)]
    assert draws != [w.draw(8, i, 64) for i in range(2000)]
    assert {d[1] for d in draws} == {16}
    assert sum(d[2] for d in draws) / len(draws) == pytest.approx(0.25, abs=0.03)


def test_the_spec_round_trips_a_workload_and_refuses_a_prompt_beside_it():
    raw = {"url": "http://127.0.0.1:1", "workload": {"input_tokens": 128, "output_tokens": {"dist": "uniform",
           "min": 8, "max": 16}}}  # fmt: skip
    spec = LoadSpec.parse(raw)
    assert LoadSpec.from_json(spec.to_json()) == spec
    with pytest.raises(SpecError, match="prompt: a workload makes its own prompts"):
        LoadSpec.parse({**raw, "prompt": "hi"})


def _prompts(workload: dict, entries: list | None = None, chat: bool = True, control: str = "ignore_eos") -> Prompts:
    raw = {"workload": workload, "seed": 3, "max_tokens": 32, "words": WORDS, "output_control": control,
           "logit_bias": {"2": -100.0}, "entries": entries or []}  # fmt: skip
    return Prompts(raw, chat)


def test_a_synthetic_prompt_is_as_many_words_as_its_tokens_and_shares_the_prefix():
    prompts = _prompts({"input_tokens": {"dist": "uniform", "min": 20, "max": 60}, "output_tokens": 12,
                        "shared_prefix": {"share": 0.5, "tokens": 8}})  # fmt: skip
    requests = [prompts.request(i) for i in range(200)]
    assert all(len(r.text.split()) == r.want_in for r in requests)
    starts = [r.text.split()[:8] for r in requests]
    shared = [s for s in starts if s == prompts.prefix.split()]
    assert 0.35 < len(shared) / len(requests) < 0.65
    assert requests[5] == prompts.request(5)
    body = prompts.body(requests[0], "m")
    assert body == {"max_tokens": 12, "messages": [{"role": "user", "content": requests[0].text}],
                    "ignore_eos": True, "min_tokens": 12, "model": "m"}  # fmt: skip
    completion = _prompts({"input_tokens": 20}, chat=False, control="logit_bias").body(requests[0], None)
    assert completion == {"max_tokens": 12, "prompt": requests[0].text, "logit_bias": {"2": -100.0}}


def test_datasets_in_openai_and_sharegpt_format():
    chat = read_dataset(DATA / "chat.jsonl", "openai")
    assert len(chat) == 4
    messages, reply = chat[0]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert reply.startswith("Because the server")
    assert chat[2][1] == ""  # no reply: the load's max_tokens
    shared = read_dataset(DATA / "sharegpt.json", "sharegpt")
    assert [m for m, _ in shared][1] == [{"role": "user", "content": "What does a Kafka consumer lag mean?"}]
    assert shared[1][1] == "How far the consumer is behind the newest message of its partition."
    assert shared[2][1] == ""


def test_a_bad_dataset_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "d.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": [{"role": "bot", "content": 1}]}\n')
    with pytest.raises(SpecError, match=rf"{bad}:2: not a chat message"):
        read_dataset(bad, "openai")
    bad.write_text("{not json\n")
    with pytest.raises(SpecError, match=rf"{bad}:1: not a JSON line"):
        read_dataset(bad, "openai")
    with pytest.raises(SpecError, match=r"chat.jsonl:1: no conversations list"):
        read_dataset(DATA / "chat.jsonl", "sharegpt")
    bad.write_text('{"conversations": [{"from": "gpt", "value": "hello"}]}\n')
    with pytest.raises(SpecError, match=rf"{bad}:1: no human turn"):
        read_dataset(bad, "sharegpt")


def test_dataset_requests_cycle_through_the_entries():
    entries = [{"messages": [{"role": "user", "content": "a b c"}], "want_in": 3, "want_out": 9},
               {"messages": [{"role": "user", "content": "d e"}], "want_in": 2, "want_out": 5}]  # fmt: skip
    prompts = _prompts({"dataset": {"path": "x.jsonl"}}, entries)
    assert [(r.text, r.want_in, r.want_out) for r in map(prompts.request, range(3))] == [
        ("a b c", 3, 9), ("d e", 2, 5), ("a b c", 3, 9)
    ]  # fmt: skip
    assert prompts.body(prompts.request(1), None)["messages"] == entries[1]["messages"]
