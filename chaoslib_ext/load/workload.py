"""What each request asks: prompt and output lengths in tokens, a shared prefix, or a dataset's prompts.

load:
  workload:
    input_tokens: {dist: lognormal, mean: 256, sd: 128, min: 16, max: 2048}   # or a number: fixed
    output_tokens: {dist: uniform, min: 16, max: 128}                         # fixed | uniform | normal | lognormal
    shared_prefix: {share: 0.5, tokens: 64}   # half the requests start with the same 64 tokens
    dataset: {path: prompts.jsonl, format: openai}   # or sharegpt; instead of input_tokens
    tokenizer: server                         # the server's own endpoint, or a tokenizer.json path
    output_control: auto                      # auto | ignore_eos | logit_bias | none

How lengths are made (chaoslib_ext.load.prepare, before the load starts): the tokenizer (the server's
``/tokenize`` as vLLM has it, llama-cpp-python's ``/extras/tokenize``, else a local tokenizer.json)
picks words that are one token each after a space; a synthetic prompt of N tokens is N such words,
drawn with the seed, so it is N tokens to that tokenizer. A chat endpoint adds its template's tokens:
``usage.prompt_tokens`` is N plus that overhead, which is measured once and reported. Output lengths
hold only when the server is told not to stop at end-of-sequence: ``ignore_eos`` and ``min_tokens``
(vLLM), or a -100 ``logit_bias`` on the end-of-sequence tokens (llama.cpp); with neither, the report
says lengths were not controlled. ``max_tokens`` is always the requested output length.

A request's lengths are drawn from its index and the seed alone (``draw``; the open loop's ``seed``,
0 for a closed loop), so every load process and every run with that seed asks the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["DISTRIBUTIONS", "OUTPUT_CONTROLS", "Dataset", "Lengths", "Workload"]

DistKind = Literal["fixed", "uniform", "normal", "lognormal"]
DISTRIBUTIONS: tuple[DistKind, ...] = ("fixed", "uniform", "normal", "lognormal")
OutputControl = Literal["auto", "ignore_eos", "logit_bias", "none"]
OUTPUT_CONTROLS: tuple[OutputControl, ...] = ("auto", "ignore_eos", "logit_bias", "none")
DATASET_FORMATS = ("openai", "sharegpt")
_MAX_TOKENS = 1_000_000


@dataclass(frozen=True)
class Lengths:
    """A distribution of token counts, clipped to ``[low, high]`` and rounded."""

    dist: DistKind
    mean: float
    sd: float = 0.0
    low: int = 1
    high: int = _MAX_TOKENS

    @classmethod
    def parse(cls, raw: object, where: str) -> Lengths:
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 1 <= raw <= _MAX_TOKENS:
                raise SpecError(where, f"{raw} tokens is out of range", f"1 to {_MAX_TOKENS}")
            return cls("fixed", float(raw), 0.0, raw, raw)
        f = Fields(raw, ["dist", "mean", "sd", "min", "max"], where)
        dist = f.string("dist", choices=DISTRIBUTIONS)
        low = f.integer("min", 1, minimum=1, maximum=_MAX_TOKENS)
        high = f.integer("max", _MAX_TOKENS, minimum=1, maximum=_MAX_TOKENS)
        if high < low:
            raise SpecError(f"{where}.max", f"max {high} is below min {low}")
        if dist == "uniform":
            if not (f.has("min") and f.has("max")):
                raise SpecError(where, "uniform needs min and max", "{dist: uniform, min: 16, max: 128}")
            return cls(dist, (low + high) / 2.0, 0.0, low, high)
        mean = f.number("mean", minimum=1.0, maximum=float(_MAX_TOKENS))
        sd = f.number("sd", 0.0 if dist == "fixed" else None, minimum=0.0)
        return cls(dist, mean, sd, low, high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` token counts (int64)."""
        if self.dist == "fixed":
            raw = np.full(n, self.mean)
        elif self.dist == "uniform":
            raw = rng.integers(self.low, self.high + 1, size=n).astype(np.float64)
        elif self.dist == "normal":
            raw = rng.normal(self.mean, self.sd, size=n)
        else:  # lognormal with this mean and sd of the counts themselves
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            raw = rng.lognormal(math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2), size=n)
        out: np.ndarray = np.clip(np.rint(raw), self.low, self.high).astype(np.int64)
        return out

    def to_json(self) -> dict[str, object]:
        return {"dist": self.dist, "mean": self.mean, "sd": self.sd, "min": self.low, "max": self.high}


@dataclass(frozen=True)
class Dataset:
    path: str
    format: str  # openai (JSON lines of {"messages": [...]}) or sharegpt ({"conversations": [...]})

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "format": self.format}


@dataclass(frozen=True)
class Workload:
    input_tokens: Lengths | None  # None with a dataset
    output_tokens: Lengths | None  # None: the load's max_tokens (a dataset: its replies' lengths)
    prefix_share: float = 0.0
    prefix_tokens: int = 0
    dataset: Dataset | None = None
    tokenizer: str = "server"
    output_control: OutputControl = "auto"

    @classmethod
    def parse(cls, raw: object, where: str) -> Workload:
        fields = ["input_tokens", "output_tokens", "shared_prefix", "dataset", "tokenizer", "output_control"]
        f = Fields(raw, fields, where)
        dataset = None
        if f.has("dataset"):
            d = Fields(f.mapping("dataset"), ["path", "format"], f"{where}.dataset")
            dataset = Dataset(d.string("path"), d.string("format", "openai", choices=DATASET_FORMATS))
            if f.has("input_tokens") or f.has("shared_prefix"):
                raise SpecError(f"{where}.dataset", "a dataset brings its own prompts", "dataset or input_tokens")
        elif not f.has("input_tokens"):
            raise SpecError(where, "needs input_tokens or a dataset", "input_tokens: 128, or dataset: {path: ...}")
        share, tokens = 0.0, 0
        if f.has("shared_prefix"):
            p = Fields(f.mapping("shared_prefix"), ["share", "tokens"], f"{where}.shared_prefix")
            share = p.number("share", minimum=0.0, maximum=1.0)
            tokens = p.integer("tokens", minimum=1, maximum=_MAX_TOKENS)
        inputs = None if dataset else Lengths.parse(f.raw["input_tokens"], f"{where}.input_tokens")
        if inputs is not None and share > 0 and tokens >= inputs.low:
            raise SpecError(f"{where}.shared_prefix.tokens", f"{tokens} is not below input_tokens' min {inputs.low}")
        outputs = Lengths.parse(f.raw["output_tokens"], f"{where}.output_tokens") if f.has("output_tokens") else None
        return cls(
            input_tokens=inputs,
            output_tokens=outputs,
            prefix_share=share,
            prefix_tokens=tokens,
            dataset=dataset,
            tokenizer=f.string("tokenizer", "server"),
            output_control=f.string("output_control", "auto", choices=OUTPUT_CONTROLS),
        )

    def draw(self, seed: int, index: int, max_tokens: int) -> tuple[int, int, bool]:
        """Request ``index``'s (input tokens, output tokens, shares the prefix?) under ``seed``; the input
        is 0 with a dataset (its entry decides)."""
        rng = np.random.default_rng((seed, index))
        want_in = int(self.input_tokens.sample(rng, 1)[0]) if self.input_tokens else 0
        want_out = int(self.output_tokens.sample(rng, 1)[0]) if self.output_tokens else max_tokens
        return want_in, want_out, bool(self.prefix_share > 0 and rng.random() < self.prefix_share)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"tokenizer": self.tokenizer, "output_control": self.output_control}
        if self.input_tokens is not None:
            out["input_tokens"] = self.input_tokens.to_json()
        if self.output_tokens is not None:
            out["output_tokens"] = self.output_tokens.to_json()
        if self.prefix_share > 0:
            out["shared_prefix"] = {"share": self.prefix_share, "tokens": self.prefix_tokens}
        if self.dataset is not None:
            out["dataset"] = self.dataset.to_json()
        return out
