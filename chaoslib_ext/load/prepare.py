"""Before a workload's load starts: the words its prompts are made of, checked with the server's
tokenizer, the chat template's overhead, how output lengths are held, a dataset's sampled entries;
all in ``<run>/load/workload.json``, which every load process reads (chaoslib_ext.load.prompts).

A word qualifies when it adds exactly one token after another word (``count("the " + w) -
count("the") == 1``); a prompt of N tokens is N such words. The check: ``CHECKS`` prompts of the
workload's own lengths are tokenized whole, and how far they land from their target is recorded
(``made``: the median and largest relative error); then ``SERVED_CHECKS`` real requests say what the
server counts (``served_check``, and ``template_tokens``: what it adds to a prompt), which matters
where its streams report no usage (llama-cpp-python's do not).
"""

from __future__ import annotations

import functools
import logging
import statistics
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.exceptions import LoadError
from chaoslib_ext.load.prompts import WORKLOAD_FILE, Prompts
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.load.tokenizer import EOS_CANDIDATES, Tokenizer, open_tokenizer, post_json, tls_context
from chaoslib_ext.load.workload import Workload

__all__ = ["CANDIDATE_WORDS", "CHECKS", "SERVED_CHECKS", "prepare_workload"]

log = logging.getLogger("chaoslib_ext.load")
CHECKS = 20
#: real requests that check what the server counts of the first prompts
SERVED_CHECKS = 5
#: dataset entries sampled (with the seed) and tokenized before the load starts
MAX_ENTRIES = 500
CANDIDATE_WORDS = tuple(
    """
time year people way day man thing woman life child world school state family student group country problem hand
part place case week company system program question work government number night point home water room mother
area money story fact month lot right study book eye job word business issue side kind head house service friend
father power hour game line end member law car city community name president team minute idea kid body
information back parent face others level office door health person art war history party result change morning
reason research girl guy moment air teacher force education foot boy age policy process music market sense
nation plan college interest death experience effect use class control care field development role effort rate
heart drug show leader light voice wife police mind price report decision son view relationship town road arm
difference value building action model season society tax director position player record paper space ground
form event official matter center couple site project activity star table need court oil situation cost industry
figure street image phone data picture practice piece land product doctor wall patient worker news test movie
north love support technology step baby computer type attention film tree source organization hair window
evidence population site training fire future wind cache queue stream token server request gateway latency
""".split()  # noqa: SIM905 - a word list reads better as text
)


def prepare_workload(spec: LoadSpec, headers: Mapping[str, str], load_dir: Path) -> Path:
    """Build ``workload.json`` in ``load_dir``; raises LoadError when the server cannot say how it counts."""
    workload, base, model = spec.workload, spec.url, spec.model
    assert workload is not None
    assert base is not None
    seed, max_tokens = spec.arrivals.seed if spec.arrivals else 0, spec.max_tokens
    tls = tls_context(spec.ca_bundle, spec.insecure)
    tokenizer = open_tokenizer(workload.tokenizer, base, model, headers, tls)
    empty = len(tokenizer.ids(""))
    words = _single_token_words(tokenizer, empty)
    if len(words) < 32:
        raise LoadError(f"only {len(words)} candidate words are one token each to the {tokenizer.kind} tokenizer")
    control, bias = _output_control(workload, tokenizer, empty)
    entries = _dataset_entries(workload, tokenizer, empty, seed, max_tokens) if workload.dataset else []
    raw: dict[str, Any] = {
        "workload": workload.to_json(),
        "seed": seed,
        "max_tokens": max_tokens,
        "tokenizer": tokenizer.kind,
        "words": words,
        "output_control": control,
        "logit_bias": bias,
        "entries": entries,
    }
    prompts = Prompts(raw, spec.endpoint_path == "/v1/chat/completions")
    raw["made"] = _check(prompts, tokenizer, empty)
    post = functools.partial(post_json, spec.endpoint_url(), headers=headers, tls=tls, timeout_s=60.0)
    raw["template_tokens"], raw["served_check"] = _served(prompts, post, model, tokenizer, empty)
    path = load_dir / WORKLOAD_FILE
    write_json_atomic(path, raw)
    log.info("workload: %s tokenizer, %d words, output %s, made %s", tokenizer.kind, len(words), control, raw["made"])
    return path


def _count(tokenizer: Tokenizer, text: str, empty: int) -> int:
    return len(tokenizer.ids(text)) - empty


def _single_token_words(tokenizer: Tokenizer, empty: int) -> list[str]:
    base = _count(tokenizer, "the", empty)
    return [w for w in dict.fromkeys(CANDIDATE_WORDS) if _count(tokenizer, "the " + w, empty) - base == 1]


def _output_control(workload: Workload, tokenizer: Tokenizer, empty: int) -> tuple[str, dict[str, float]]:
    """How output lengths are held: ``ignore_eos`` (+ ``min_tokens``), ``logit_bias`` on the EOS tokens,
    or ``none`` (not controlled)."""
    choice = workload.output_control
    if choice == "auto":
        choice = {"vllm": "ignore_eos", "llama-cpp": "logit_bias"}.get(tokenizer.kind, "none")  # type: ignore[assignment]
    if choice != "logit_bias":
        return choice, {}
    eos: dict[str, float] = {}
    for text in EOS_CANDIDATES:
        ids = tokenizer.ids(text)[empty:]
        if len(ids) == 1:
            eos[str(ids[0])] = -100.0
    if not eos:
        raise LoadError(f"logit_bias: no end-of-sequence token found among {', '.join(EOS_CANDIDATES)}")
    return choice, eos


def _dataset_entries(
    workload: Workload, tokenizer: Tokenizer, empty: int, seed: int, max_tokens: int
) -> list[dict[str, Any]]:
    assert workload.dataset is not None
    from chaoslib_ext.load.datasets import read_dataset  # only a dataset workload reads one

    conversations = read_dataset(Path(workload.dataset.path), workload.dataset.format)
    rng = np.random.default_rng(seed)
    picked = rng.permutation(len(conversations))[:MAX_ENTRIES]
    entries = []
    for i in picked:
        messages, reply = conversations[int(i)]
        want_in = _count(tokenizer, "\n".join(m["content"] for m in messages), empty)
        want_out = _count(tokenizer, reply, empty) if reply else max_tokens
        entries.append({"messages": messages, "want_in": want_in, "want_out": max(1, want_out)})
    return entries


def _check(prompts: Prompts, tokenizer: Tokenizer, empty: int) -> dict[str, float | int | None]:
    """How close the prompts land on their target, by the tokenizer: relative error of ``CHECKS`` of them."""
    errors = []
    for i in range(CHECKS):
        request = prompts.request(i)
        if request.want_in > 0:
            errors.append(abs(_count(tokenizer, request.text, empty) - request.want_in) / request.want_in)
    if not errors:
        return {"checked": 0, "median_error": None, "max_error": None}
    return {"checked": len(errors), "median_error": statistics.median(errors), "max_error": max(errors)}


def _served(
    prompts: Prompts,
    post: Callable[[dict[str, Any]], dict[str, object]],
    model: str | None,
    tokenizer: Tokenizer,
    empty: int,
) -> tuple[int | None, dict[str, float | int | None]]:
    """What the server counts: ``SERVED_CHECKS`` real requests (not streamed, max_tokens 1) of the
    workload's first prompts; the tokens it adds to a prompt (the first request's ``usage.prompt_tokens``
    minus the prompt's own: the chat template, a BOS) and how far the others land from their target
    after that overhead. (None, no check) when the server reports no usage. Raises LoadError."""
    counted = []
    for i in range(SERVED_CHECKS):
        request = prompts.request(i)
        body = {**prompts.body(request, model), "max_tokens": 1, "stream": False}
        body.pop("min_tokens", None)
        usage = post(body).get("usage")
        served = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        if not isinstance(served, int):
            return None, {"requests": 0, "median_error": None, "max_error": None}
        counted.append((served, _count(tokenizer, request.text, empty), request.want_in))
    overhead = counted[0][0] - counted[0][1]
    errors = [abs(served - overhead - want) / want for served, _, want in counted if want > 0]
    check = {"requests": len(counted), "median_error": statistics.median(errors) if errors else None,
             "max_error": max(errors) if errors else None}  # fmt: skip
    return overhead, check
