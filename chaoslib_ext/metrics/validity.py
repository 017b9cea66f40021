"""Was a phase measurable? The load client's own error per phase, and one policy for the seconds it spoils.

Two things make a second of the load client's record describe the client instead of the server:
the hypervisor took the host's CPU (steal at or above ``max_steal``, :mod:`chaoslib_ext.samples.host`),
or a load process's hub ran its 50 Hz timer late (that second's p99 above ``max_client_lag_ms``,
:mod:`chaoslib_ext.samples.lag`). Both are *unmeasurable seconds*, the same kind of thing:
``chaosllm compare`` leaves them out, with the requests in flight in them.

The lag bound applies second by second: a phase is **not measurable** when fewer than
``min_measurable`` of its seconds are measurable, i.e. when its client lagged (or was starved) for
most of it. A phase-wide p99 would let one stall void a phase: measured in CI on this VM, a 1-second
stall (3 lagged seconds, 1 starved) put an 8-second phase's lag p99 at 6.4 ms while 5 of its 8
seconds were clean. Hypotheses on such a phase are ``error``, never a pass or a fail, and the run
exits 2 (``not_measurable``). A run recorded without lag readings (older runs) is judged on steal
alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from chaoslib_ext.metrics.record import Distribution, DistributionJson
from chaoslib_ext.metrics.stats import distribution
from chaoslib_ext.metrics.windows import Window, union
from chaoslib_ext.samples.host import STARVED_STEAL, HostSeries
from chaoslib_ext.samples.lag import LagSeries

__all__ = [
    "DEFAULT_POLICY",
    "MAX_CLIENT_LAG_MS",
    "MIN_MEASURABLE",
    "PhaseValidity",
    "PhaseValidityJson",
    "Validity",
    "ValidityJson",
    "ValidityPolicy",
    "phase_validity",
    "run_validity",
    "unmeasurable",
]

#: a load process whose timer runs this late (p99) records its own delay as the server's
MAX_CLIENT_LAG_MS = 5.0
#: a phase needs at least this share of its seconds measurable
MIN_MEASURABLE = 0.5


@dataclass(frozen=True)
class ValidityPolicy:
    max_client_lag_ms: float = MAX_CLIENT_LAG_MS
    max_steal: float = STARVED_STEAL
    min_measurable: float = MIN_MEASURABLE


#: the policy of a run that sets none
DEFAULT_POLICY = ValidityPolicy()


class PhaseValidityJson(TypedDict):
    measurable: bool
    reason: str | None
    seconds: float
    measurable_s: float
    starved_s: float
    lagged_s: float
    client_lag_ms: DistributionJson | None
    client_cpu: float | None


@dataclass(frozen=True)
class PhaseValidity:
    """How exact one phase's record is: the client lag over its readings, the busiest load process's CPU
    share (of one core), its starved, lagged and measurable seconds, and the judgement with its reason."""

    measurable: bool
    reason: str | None
    seconds: float
    measurable_s: float
    starved_s: float
    lagged_s: float
    client_lag_ms: Distribution | None  # None: the run recorded no lag readings
    client_cpu: float | None

    def to_json(self) -> PhaseValidityJson:
        return {
            "measurable": self.measurable,
            "reason": self.reason,
            "seconds": self.seconds,
            "measurable_s": self.measurable_s,
            "starved_s": self.starved_s,
            "lagged_s": self.lagged_s,
            "client_lag_ms": None if self.client_lag_ms is None else self.client_lag_ms.to_json(),
            "client_cpu": self.client_cpu,
        }

    @classmethod
    def from_json(cls, raw: PhaseValidityJson) -> PhaseValidity:
        lag = raw["client_lag_ms"]
        return cls(
            raw["measurable"],
            raw["reason"],
            raw["seconds"],
            raw["measurable_s"],
            raw["starved_s"],
            raw["lagged_s"],
            None if lag is None else Distribution.from_json(lag),
            raw["client_cpu"],
        )


class ValidityJson(TypedDict):
    max_client_lag_ms: float
    max_steal: float
    min_measurable: float
    phases: dict[str, PhaseValidityJson]


@dataclass(frozen=True)
class Validity:
    """Every phase's validity, and the policy it was judged by."""

    policy: ValidityPolicy
    phases: dict[str, PhaseValidity]

    def not_measurable(self) -> dict[str, str]:
        """The phases that were not measurable, with the reason of each."""
        return {name: v.reason for name, v in self.phases.items() if v.reason is not None}

    def to_json(self) -> ValidityJson:
        return {
            "max_client_lag_ms": self.policy.max_client_lag_ms,
            "max_steal": self.policy.max_steal,
            "min_measurable": self.policy.min_measurable,
            "phases": {name: v.to_json() for name, v in self.phases.items()},
        }

    @classmethod
    def from_json(cls, raw: ValidityJson) -> Validity:
        policy = ValidityPolicy(raw["max_client_lag_ms"], raw["max_steal"], raw["min_measurable"])
        return cls(policy, {name: PhaseValidity.from_json(v) for name, v in raw["phases"].items()})


def run_validity(
    windows: dict[str, Window], host: HostSeries | None, lag: LagSeries | None, policy: ValidityPolicy
) -> Validity:
    """Every non-empty phase of a run judged by ``policy``."""
    return Validity(policy, {name: phase_validity(w, host, lag, policy) for name, w in windows.items() if not w.empty})


def unmeasurable(
    host: HostSeries | None, lag: LagSeries | None, policy: ValidityPolicy = DEFAULT_POLICY
) -> tuple[tuple[float, float], ...]:
    """Every starved or lagged second of a run, merged (absolute ``[start, end)``)."""
    starved = host.starved(policy.max_steal) if host is not None else []
    lagged = lag.lagged(policy.max_client_lag_ms) if lag is not None else []
    return union([*starved, *lagged])


def phase_validity(
    window: Window, host: HostSeries | None, lag: LagSeries | None, policy: ValidityPolicy = DEFAULT_POLICY
) -> PhaseValidity:
    """One phase judged by :data:`policy`: its client lag, CPU share and measurable seconds."""
    seconds = window.duration_s
    starved = _seconds(window, union(host.starved(policy.max_steal)) if host is not None else ())
    lagged = _seconds(window, union(lag.lagged(policy.max_client_lag_ms)) if lag is not None else ())
    measurable_s = seconds - _seconds(window, unmeasurable(host, lag, policy))
    in_phase = lag.during(window.intervals) if lag is not None else None
    lag_ms = distribution(in_phase.lag_ms) if in_phase is not None and in_phase.lag_ms.size else None
    reason = None
    if seconds > 0 and measurable_s < policy.min_measurable * seconds:
        whole = "" if lag_ms is None or lag_ms.p99 is None else f"; the phase's client lag p99 {lag_ms.p99:.1f} ms"
        reason = (
            f"{measurable_s:.1f} of {seconds:.1f} s measurable (< {policy.min_measurable:.0%}): "
            f"{starved:.1f} s starved (steal >= {policy.max_steal:.0%}), "
            f"{lagged:.1f} s lagged (client lag p99 > {policy.max_client_lag_ms:g} ms in the second{whole}): "
            "it measured the load client, not the target"
        )
    return PhaseValidity(
        measurable=reason is None,
        reason=reason,
        seconds=round(seconds, 1),
        measurable_s=round(measurable_s, 1),
        starved_s=round(starved, 1),
        lagged_s=round(lagged, 1),
        client_lag_ms=lag_ms,
        client_cpu=None if in_phase is None else _round(in_phase.busiest_cpu()),
    )


def _seconds(window: Window, cuts: tuple[tuple[float, float], ...]) -> float:
    """How much of ``window`` the merged ``cuts`` cover."""
    return float(sum(max(0.0, min(b, d) - max(a, c)) for a, b in window.intervals for c, d in cuts))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
