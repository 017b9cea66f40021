"""The run's record: :class:`RunSummary`, what every renderer, the history and the comparison read.

Frozen values inside; JSON only at the file edge: ``to_json()`` gives exactly ``summary.json``
(schema ``chaosllm/summary``, :data:`SCHEMA_PATH`) as a :class:`SummaryJson`, ``from_json()`` reads it
back (``chaosllm report`` and ``compare`` on a finished run). Consumers check ``schema`` and ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from chaoslib_ext._jsonfile import JsonObject
from chaoslib_ext.metrics.record import Distribution, DistributionJson, PhaseMetrics, PhaseMetricsJson
from chaoslib_ext.metrics.recovery import RecoveryTime, RecoveryTimeJson
from chaoslib_ext.metrics.validity import Validity, ValidityJson
from chaoslib_ext.run.environment import Environment, EnvironmentJson
from chaoslib_ext.run.ledger import FaultState, LedgerEntry
from chaoslib_ext.samples.host import HostCpu, HostCpuJson
from chaoslib_ext.verdict.cluster import ClusterRecovery, ClusterRecoveryJson
from chaoslib_ext.verdict.evaluate import Verdict, VerdictJson
from chaoslib_ext.verdict.evidence import FaultEvidence, FaultEvidenceJson
from chaoslib_ext.verdict.outcome import Outcome, OutcomeJson
from chaoslib_ext.verdict.score import Resilience, ResilienceJson

__all__ = [
    "SCHEMA",
    "SCHEMA_PATH",
    "VERSION",
    "FaultRecord",
    "FaultRecordJson",
    "LoadHost",
    "LoadHostJson",
    "RunSummary",
    "SummaryJson",
    "WindowJson",
]

SCHEMA: Literal["chaosllm/summary"] = "chaosllm/summary"
VERSION = 5
SCHEMA_PATH = Path(__file__).with_name("schemas") / "summary.schema.json"


class FaultRecordJson(TypedDict):
    id: str
    family: str
    driver: str
    target: str
    spec: JsonObject
    state: FaultState
    created_at: float
    injected_at: float | None
    removed_at: float | None
    error: str | None
    details: JsonObject
    time_to_inject_s: float | None
    evidence: NotRequired[FaultEvidenceJson]


@dataclass(frozen=True)
class FaultRecord:
    """A fault of the run as the report shows it: the ledger entry without its undo, and the time from
    recording the undo to the fault taking effect."""

    id: str
    family: str
    driver: str
    target: str
    spec: JsonObject
    state: FaultState
    created_at: float
    injected_at: float | None
    removed_at: float | None
    error: str | None
    details: JsonObject
    time_to_inject_s: float | None
    evidence: FaultEvidence | None = None  # whether it reached the requests (chaoslib_ext.verdict.evidence)

    @property
    def missed(self) -> str | None:
        """Why the run is inconclusive on this fault's account, if it is."""
        ev = self.evidence
        if ev is None or not ev.missed:
            return None
        counters = f"{ev.passed} passed, {ev.touched} touched, {ev.effects} effects"
        return (
            f"fault {self.id!r} had no effect on any of the {ev.window_requests} requests started while it was in "
            f"force (its counters: {counters})"
        )

    @property
    def held_s(self) -> float | None:
        """Seconds from injection to removal; None unless both happened."""
        if not self.injected_at or not self.removed_at:
            return None
        return self.removed_at - self.injected_at

    @classmethod
    def of(cls, entry: LedgerEntry, evidence: FaultEvidence | None = None) -> FaultRecord:
        took = entry.details.get("time_to_inject_s")
        if took is None and entry.injected_at is not None:
            took = entry.injected_at - entry.created_at
        return cls(
            entry.id, entry.family, entry.driver, entry.target, dict(entry.spec), entry.state, entry.created_at,
            entry.injected_at, entry.removed_at, entry.error, dict(entry.details), took, evidence,
        )  # fmt: skip

    def to_json(self) -> FaultRecordJson:
        out = self._to_json()
        if self.evidence is not None:
            out["evidence"] = self.evidence.to_json()
        return out

    def _to_json(self) -> FaultRecordJson:
        return {
            "id": self.id,
            "family": self.family,
            "driver": self.driver,
            "target": self.target,
            "spec": self.spec,
            "state": self.state,
            "created_at": self.created_at,
            "injected_at": self.injected_at,
            "removed_at": self.removed_at,
            "error": self.error,
            "details": self.details,
            "time_to_inject_s": self.time_to_inject_s,
        }

    @classmethod
    def from_json(cls, raw: FaultRecordJson) -> FaultRecord:
        return cls(
            raw["id"], raw["family"], raw["driver"], raw["target"], raw["spec"], raw["state"], raw["created_at"],
            raw["injected_at"], raw["removed_at"], raw.get("error"), raw.get("details") or {},
            raw["time_to_inject_s"], FaultEvidence.from_json(raw["evidence"]) if "evidence" in raw else None,
        )  # fmt: skip


class LoadHostJson(TypedDict):
    starved_steal: float
    phases: dict[str, HostCpuJson | None]


@dataclass(frozen=True)
class LoadHost:
    """The load generator's CPU per phase (chaoslib_ext.samples.host), and the steal that starves it."""

    starved_steal: float
    phases: dict[str, HostCpu | None]

    def to_json(self) -> LoadHostJson:
        return {
            "starved_steal": self.starved_steal,
            "phases": {name: None if h is None else h.to_json() for name, h in self.phases.items()},
        }

    @classmethod
    def from_json(cls, raw: LoadHostJson) -> LoadHost:
        phases = {name: None if h is None else HostCpu.from_json(h) for name, h in raw["phases"].items()}
        return cls(raw["starved_steal"], phases)


class WindowJson(TypedDict):
    start_at: float
    end_at: float


class SummaryJson(TypedDict):
    """``summary.json``, key for key (``summary.schema.json``)."""

    schema: Literal["chaosllm/summary"]
    version: int
    run_id: str
    title: str
    experiment: str
    target: str | None
    started_at: float | None
    written_at: float
    outcome: OutcomeJson
    load: JsonObject | None
    window: WindowJson | None
    phases: dict[str, PhaseMetricsJson]
    hypotheses: list[VerdictJson]
    faults: list[FaultRecordJson]
    client_overhead_ms: DistributionJson | None
    load_host: LoadHostJson | None
    validity: ValidityJson | None
    resilience: ResilienceJson
    environment: EnvironmentJson
    recovery: NotRequired[dict[str, RecoveryTimeJson]]
    cluster: NotRequired[ClusterRecoveryJson]


@dataclass(frozen=True)
class RunSummary:
    """What a run measured and decided: made by :func:`chaoslib_ext.verdict.judge_run`."""

    run_id: str
    title: str
    experiment: str
    target: str | None
    started_at: float | None
    written_at: float
    outcome: Outcome
    load: JsonObject | None
    window: tuple[float, float] | None  # (start, end) of measuring: load start + warmup, load stop
    phases: dict[str, PhaseMetrics]
    hypotheses: tuple[Verdict, ...]
    faults: tuple[FaultRecord, ...]
    client_overhead_ms: Distribution | None  # TTFT measured by the client minus TTFT the server reported
    load_host: LoadHost | None
    validity: Validity | None  # how exact each phase's record is (chaoslib_ext.metrics.validity)
    resilience: Resilience
    environment: Environment
    #: time to recover after the last fault's removal, per metric (chaoslib_ext.metrics.recovery)
    recovery: dict[str, RecoveryTime] = field(default_factory=dict)
    #: a cluster target's pods during the run, and "all replicas ready again" (chaoslib_ext.verdict.cluster)
    cluster: ClusterRecovery | None = None

    @property
    def name(self) -> str:
        """The title, or the run id of an untitled run."""
        return self.title or self.run_id

    def with_outcome(self, outcome: Outcome) -> RunSummary:
        return replace(self, outcome=outcome)

    def missed_faults(self) -> list[str]:
        """Why the run is inconclusive: each fault whose counters show it reached no request."""
        return [reason for f in self.faults if (reason := f.missed) is not None]

    def to_json(self) -> SummaryJson:
        out = self._to_json()
        if self.recovery:
            out["recovery"] = {metric: r.to_json() for metric, r in self.recovery.items()}
        if self.cluster is not None:
            out["cluster"] = self.cluster.to_json()
        return out

    def _to_json(self) -> SummaryJson:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "run_id": self.run_id,
            "title": self.title,
            "experiment": self.experiment,
            "target": self.target,
            "started_at": self.started_at,
            "written_at": self.written_at,
            "outcome": self.outcome.to_json(),
            "load": self.load,
            "window": None if self.window is None else {"start_at": self.window[0], "end_at": self.window[1]},
            "phases": {name: m.to_json() for name, m in self.phases.items()},
            "hypotheses": [v.to_json() for v in self.hypotheses],
            "faults": [f.to_json() for f in self.faults],
            "client_overhead_ms": None if self.client_overhead_ms is None else self.client_overhead_ms.to_json(),
            "load_host": None if self.load_host is None else self.load_host.to_json(),
            "validity": None if self.validity is None else self.validity.to_json(),
            "resilience": self.resilience.to_json(),
            "environment": self.environment.to_json(),
        }

    @classmethod
    def from_json(cls, raw: SummaryJson) -> RunSummary:
        """Read ``summary.json``; ValueError for another schema or a newer version."""
        if raw.get("schema") != SCHEMA or int(raw.get("version", 0)) > VERSION:
            raise ValueError(f"not a {SCHEMA} summary of version {VERSION} or older")
        window = raw["window"]
        overhead = raw["client_overhead_ms"]
        host = raw.get("load_host")
        return cls(
            run_id=raw["run_id"],
            title=raw["title"],
            experiment=raw["experiment"],
            target=raw["target"],
            started_at=raw["started_at"],
            written_at=raw["written_at"],
            outcome=Outcome.from_json(raw["outcome"]),
            load=raw["load"],
            window=None if window is None else (window["start_at"], window["end_at"]),
            phases={name: PhaseMetrics.from_json(m) for name, m in raw["phases"].items()},
            hypotheses=tuple(Verdict.from_json(v) for v in raw["hypotheses"]),
            faults=tuple(FaultRecord.from_json(f) for f in raw["faults"]),
            client_overhead_ms=None if overhead is None else Distribution.from_json(overhead),
            load_host=None if host is None else LoadHost.from_json(host),
            validity=None if (validity := raw.get("validity")) is None else Validity.from_json(validity),
            resilience=Resilience.from_json(raw["resilience"]),
            environment=Environment.from_json(raw["environment"]),
            recovery={metric: RecoveryTime.from_json(r) for metric, r in raw.get("recovery", {}).items()},
            cluster=ClusterRecovery.from_json(raw["cluster"]) if "cluster" in raw else None,
        )
