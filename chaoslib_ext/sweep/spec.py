"""What a capacity sweep steps through and what each step must meet.

    chaosllm sweep --url URL --slo ttft_ms.p99<=500 --slo error_rate<=0.01
    load: {sweep: {slo: ["ttft_ms.p99<=500"], start: 2, factor: 2, resolution: 5%}}   (YAML, same fields)

The rate starts at ``start`` req/s and is multiplied by ``factor`` while every step meets every SLO;
past the first step that does not, it is bisected (geometric mean) between the highest passing and the
lowest failing rate until they are within ``resolution`` of each other. A step meets an SLO when the
one-sided ``confidence`` bootstrap bound of its metric does (the 95 % upper bound of TTFT P99 under
500 ms, say), and it is not saturated. Bounded three ways: ``max_steps``, ``time_limit`` and each step's
``step`` + ``warmup``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from chaoslib_ext.compare.metrics import METRIC_HELP, Metric, parse_metric
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["DEFAULTS", "Slo", "SweepPlan"]

SloOp = Literal["<=", ">="]
_SLO = re.compile(r"^\s*(?P<metric>[a-z_.0-9]+)\s*(?P<op><=|>=)\s*(?P<bound>[-+0-9.eE]+)\s*$")
_FIELDS = ("slo", "start", "factor", "resolution", "step", "warmup", "max_steps", "time_limit", "confidence",
           "saturation", "max_concurrency")  # fmt: skip
#: the stated defaults (README and ``chaosllm sweep --help`` quote them)
DEFAULTS = {
    "start": 1.0,
    "factor": 2.0,
    "resolution": 0.05,
    "step_s": 20.0,
    "warmup_s": 3.0,
    "max_steps": 16,
    "time_limit_s": 900.0,
    "confidence": 0.95,
    "saturation": 0.9,
    "max_concurrency": 512,
}


@dataclass(frozen=True)
class Slo:
    """``metric op bound``: a metric ``chaosllm compare`` knows (METRIC_HELP), ``<=`` or ``>=`` a number."""

    metric: Metric
    op: SloOp
    bound: float

    @classmethod
    def parse(cls, text: str, where: str = "slo") -> Slo:
        m = _SLO.match(text)
        if m is None:
            raise SpecError(where, f"{text!r} is not METRIC<=BOUND or METRIC>=BOUND", "ttft_ms.p99<=500")
        try:
            metric = parse_metric(m["metric"])
            bound = float(m["bound"])
        except ValueError as exc:
            raise SpecError(where, str(exc), METRIC_HELP) from exc
        op: SloOp = "<=" if m["op"] == "<=" else ">="
        return cls(metric, op, bound)

    @property
    def text(self) -> str:
        return f"{self.metric.key}{self.op}{self.bound:g}"

    def met(self, bound: float | None) -> bool:
        if bound is None:
            return False
        return bound <= self.bound if self.op == "<=" else bound >= self.bound


@dataclass(frozen=True)
class SweepPlan:
    slos: tuple[Slo, ...]
    start: float = DEFAULTS["start"]
    factor: float = DEFAULTS["factor"]
    resolution: float = DEFAULTS["resolution"]  # stop bisecting when high / low - 1 is this or less
    step_s: float = DEFAULTS["step_s"]  # measured time of one step
    warmup_s: float = DEFAULTS["warmup_s"]  # left out at the start of each step
    max_steps: int = int(DEFAULTS["max_steps"])
    time_limit_s: float = DEFAULTS["time_limit_s"]
    confidence: float = DEFAULTS["confidence"]  # one-sided
    saturation: float = DEFAULTS["saturation"]  # completions below this share of the offered rate: saturated
    max_concurrency: int = int(DEFAULTS["max_concurrency"])

    @classmethod
    def parse(cls, raw: object, where: str = "sweep") -> SweepPlan:
        f = Fields(raw, _FIELDS, where)
        slos_raw = f.raw.get("slo")
        if isinstance(slos_raw, str):
            slos_raw = [slos_raw]
        if not isinstance(slos_raw, list) or not slos_raw or not all(isinstance(s, str) for s in slos_raw):
            raise SpecError(f"{where}.slo", "needs one SLO or a list of them", "slo: [ttft_ms.p99<=500]")
        return cls(
            slos=tuple(Slo.parse(s, f"{where}.slo[{i}]") for i, s in enumerate(slos_raw)),
            start=f.number("start", DEFAULTS["start"], minimum=0.01, maximum=10_000.0),
            factor=f.number("factor", DEFAULTS["factor"], minimum=1.1, maximum=10.0),
            resolution=_share(f, "resolution", DEFAULTS["resolution"], where),
            step_s=f.duration("step", DEFAULTS["step_s"], positive=True),
            warmup_s=f.duration("warmup", DEFAULTS["warmup_s"]),
            max_steps=f.integer("max_steps", int(DEFAULTS["max_steps"]), minimum=1, maximum=100),
            time_limit_s=f.duration("time_limit", DEFAULTS["time_limit_s"], positive=True),
            confidence=_share(f, "confidence", DEFAULTS["confidence"], where),
            saturation=_share(f, "saturation", DEFAULTS["saturation"], where),
            max_concurrency=f.integer("max_concurrency", int(DEFAULTS["max_concurrency"]), minimum=1),
        )

    def to_json(self) -> dict[str, object]:
        """The YAML form (``parse`` reads it back)."""
        return {
            "slo": [s.text for s in self.slos],
            "start": self.start,
            "factor": self.factor,
            "resolution": self.resolution,
            "step": f"{self.step_s:g}s",
            "warmup": f"{self.warmup_s:g}s",
            "max_steps": self.max_steps,
            "time_limit": f"{self.time_limit_s:g}s",
            "confidence": self.confidence,
            "saturation": self.saturation,
            "max_concurrency": self.max_concurrency,
        }


def _share(f: Fields, name: str, default: float, where: str) -> float:
    """A fraction given as 0.05 or "5%"; SpecError outside (0, 1)."""
    raw = f.raw.get(name, default)
    text = str(raw).strip()
    try:
        value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if isinstance(raw, bool) or not 0.0 < value < 1.0:
        raise SpecError(f"{where}.{name}", f"{raw!r} is not a share between 0 and 1", f"{name}: 0.05 or 5%")
    return value
