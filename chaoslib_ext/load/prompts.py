"""Each request's prompt and lengths under a workload, from ``<run>/load/workload.json`` (written by
chaoslib_ext.load.prepare): request ``i`` is the same in every load process and every run of the seed.

A synthetic prompt of N tokens is N of the file's single-token words drawn with ``(seed, i)``; one
that shares the prefix starts with the workload's prefix words (the same for every such request). A
dataset request is entry ``i mod len(entries)`` of the sampled entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext.load.workload import Workload

__all__ = ["WORKLOAD_FILE", "PromptRequest", "Prompts", "synthetic_text"]

WORKLOAD_FILE = "workload.json"
_PREFIX_SEED = 0x5EED


@dataclass(frozen=True)
class PromptRequest:
    text: str  # the prompt (a dataset's: its messages' contents, joined)
    messages: list[dict[str, str]] | None  # a dataset's chat messages
    want_in: int
    want_out: int


def synthetic_text(words: list[str], rng: np.random.Generator, n: int) -> str:
    return " ".join(words[i] for i in rng.integers(0, len(words), size=n))


class Prompts:
    def __init__(self, raw: dict[str, Any], chat: bool) -> None:
        self.workload = Workload.parse(raw["workload"], "workload")
        self.seed = int(raw["seed"])
        self.max_tokens = int(raw["max_tokens"])
        self.words: list[str] = list(raw["words"])
        self.control: str = raw["output_control"]
        self.bias: dict[str, float] = dict(raw.get("logit_bias") or {})
        self.entries: list[dict[str, Any]] = list(raw.get("entries") or [])
        self.chat = chat
        n = self.workload.prefix_tokens
        self.prefix = synthetic_text(self.words, np.random.default_rng(_PREFIX_SEED + self.seed), n) if n else ""

    @classmethod
    def read(cls, path: Path, chat: bool) -> Prompts:
        return cls(read_json(path), chat)

    def request(self, index: int) -> PromptRequest:
        want_in, want_out, shared = self.workload.draw(self.seed, index, self.max_tokens)
        if self.entries:
            entry = self.entries[index % len(self.entries)]
            messages = entry["messages"]
            text = "\n".join(m["content"] for m in messages)
            out = want_out if self.workload.output_tokens else int(entry["want_out"])
            return PromptRequest(text, messages, int(entry["want_in"]), out)
        rng = np.random.default_rng((self.seed, index, 1))
        if shared:
            text = self.prefix + " " + synthetic_text(self.words, rng, want_in - self.workload.prefix_tokens)
        else:
            text = synthetic_text(self.words, rng, want_in)
        return PromptRequest(text, None, want_in, want_out)

    def body(self, request: PromptRequest, model: str | None) -> dict[str, Any]:
        """The request body's workload part: prompt, max_tokens and how the output length is held."""
        body: dict[str, Any] = {"max_tokens": request.want_out}
        if self.chat:
            body["messages"] = request.messages or [{"role": "user", "content": request.text}]
        else:
            body["prompt"] = request.text
        if self.control == "ignore_eos":
            body["ignore_eos"] = True
            body["min_tokens"] = request.want_out
        elif self.control == "logit_bias":
            body["logit_bias"] = self.bias
        if model:
            body["model"] = model
        return body
