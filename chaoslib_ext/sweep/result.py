"""A sweep's record, ``sweep.json``: its plan, endpoint, model, every step and the knee, rewritten after
each step (a sweep cut short keeps what it measured); and a load's rate as a share of a sweep's knee.

    load: {rate: 70% of sweep}                      # the latest sweep of this endpoint and model
    load: {rate: 70% of reports/sweep-20261202-...}  # that sweep (a sweep of another one is refused)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.history.store import History, SweepEntry
from chaoslib_ext.load.spec import LoadSpec, RateShare
from chaoslib_ext.secrets import redact_url
from chaoslib_ext.sweep.search import Stopped, knee
from chaoslib_ext.sweep.step import StepResult

__all__ = ["SCHEMA", "SWEEP_FILE", "SweepResult", "rate_from_sweep", "resolve_rate", "sweep_identity"]

log = logging.getLogger("chaoslib_ext.sweep")

SCHEMA, VERSION = "chaosllm/sweep", 1
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class SweepResult:
    endpoint: str  # credentials never in it (a scrubbed URL)
    model: str
    plan: dict[str, object]
    steps: tuple[StepResult, ...]
    started_at: float
    finished_at: float | None
    stopped: Stopped | None

    @property
    def knee_rps(self) -> float | None:
        return knee(self.steps)

    def to_json(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "endpoint": self.endpoint,
            "model": self.model,
            "plan": self.plan,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "stopped": self.stopped,
            "knee_rps": self.knee_rps,
            "steps": [s.to_json() for s in self.steps],
        }

    def write(self, directory: Path) -> None:
        write_json_atomic(directory / SWEEP_FILE, self.to_json())

    @classmethod
    def read(cls, directory: Path) -> SweepResult:
        """Raises SpecError when ``directory`` holds no sweep."""
        path = directory / SWEEP_FILE
        if not path.is_file():
            raise SpecError("rate", f"{directory}: not a sweep directory (no {SWEEP_FILE})")
        raw = read_json(path)
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            raise SpecError("rate", f"{path}: not a chaosllm sweep record")
        steps = tuple(StepResult.from_json(s) for s in raw["steps"])
        return cls(
            str(raw["endpoint"]),
            str(raw["model"]),
            dict(raw["plan"]),
            steps,
            float(raw["started_at"]),
            None if raw["finished_at"] is None else float(raw["finished_at"]),
            raw["stopped"],
        )

    def entry(self, directory: Path) -> SweepEntry:
        return SweepEntry(str(directory.resolve()), self.endpoint, self.model, self.finished_at or 0.0, self.knee_rps)


def sweep_identity(spec: LoadSpec) -> tuple[str, str]:
    """What a sweep is of, and what a share of one must match: the endpoint URL (credentials removed)
    and the model ("" for the server's default)."""
    return redact_url(spec.endpoint_url()), spec.model or ""


def resolve_rate(spec: LoadSpec, history: History) -> LoadSpec:
    """``spec`` with its ``rate: N% of ...`` turned into requests/s (unchanged without one); raises
    SpecError when there is no such sweep, it found no knee, or it swept another endpoint or model."""
    share = spec.rate_share
    if share is None or spec.arrivals is None:
        return spec
    rate = rate_from_sweep(share, *sweep_identity(spec), history)
    log.info("load rate %s = %.4g req/s", share.text, rate)
    return replace(spec, arrivals=replace(spec.arrivals, rate_rps=rate), rate_share=None)


def rate_from_sweep(share: RateShare, endpoint: str, model: str, history: History, where: str = "load.rate") -> float:
    """The rate ``share`` names for a load of ``endpoint`` and ``model``."""
    if not 0.0 < share.fraction <= 1.0:
        raise SpecError(where, f"{share.text!r}: a share of the knee is more than 0 % and at most 100 %")
    if share.source == "sweep":
        found = [e for e in history.sweeps() if e.endpoint == endpoint and e.model == model]
        if not found:
            raise SpecError(
                where,
                f"no sweep of {endpoint} (model {model or 'default'}) in the history {history.path}",
                "run chaosllm sweep first, or name a sweep directory: 70% of reports/sweep-...",
            )
        entry = found[0]
    else:
        result = SweepResult.read(Path(share.source))
        if (result.endpoint, result.model) != (endpoint, model):
            raise SpecError(
                where,
                f"{share.source} swept {result.endpoint} (model {result.model or 'default'}), "
                f"this load is {endpoint} (model {model or 'default'})",
            )
        entry = result.entry(Path(share.source))
    if entry.knee_rps is None:
        raise SpecError(where, f"the sweep {entry.path} found no knee (no step met its SLOs)")
    return share.fraction * entry.knee_rps
