"""The cluster's side of a run (chaoslib_ext.controls.cluster wrote it to the timeline): how many changes
its pods went through, and "all replicas ready again" as a recovery time: the seconds from the last
fault's removal until every service of the target had as many ready pods as when the run started (0
when they never stopped being ready; never is a value: ``recovered`` false, ``seconds`` null)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from chaoslib_ext.run.timeline import TimelineEvent

__all__ = ["ClusterRecovery", "ClusterRecoveryJson", "cluster_recovery"]


class ClusterRecoveryJson(TypedDict):
    changes: dict[str, int]
    replicas_ready_s: float | None
    recovered: bool | None


@dataclass(frozen=True)
class ClusterRecovery:
    changes: dict[str, int]  # change -> how many (restarted, oom_killed, not_ready, warning ...)
    replicas_ready_s: float | None  # after the last removal; None: never (or no fault was removed)
    recovered: bool | None  # None: no fault was removed, nothing to recover from

    def to_json(self) -> ClusterRecoveryJson:
        return {"changes": dict(self.changes), "replicas_ready_s": self.replicas_ready_s, "recovered": self.recovered}

    @classmethod
    def from_json(cls, raw: ClusterRecoveryJson) -> ClusterRecovery:
        return cls(dict(raw["changes"]), raw["replicas_ready_s"], raw["recovered"])


def cluster_recovery(events: Sequence[TimelineEvent], removed_at: float | None) -> ClusterRecovery | None:
    """None when the run did not watch a cluster."""
    cluster = [e for e in events if e["kind"] == "cluster"]
    if not cluster:
        return None
    changes: dict[str, int] = {}
    for e in cluster:
        if e["change"] not in ("watched", "all_ready", "not_all_ready"):
            changes[e["change"]] = changes.get(e["change"], 0) + 1
    if removed_at is None:
        return ClusterRecovery(changes, None, None)
    flips = sorted(
        (e["at"], e["change"] == "all_ready") for e in cluster if e["change"] in ("all_ready", "not_all_ready")
    )
    ready_at_removal = next((ready for at, ready in reversed(flips) if at <= removed_at), True)
    if ready_at_removal:
        return ClusterRecovery(changes, 0.0, True)
    later = next((at for at, ready in flips if at > removed_at and ready), None)
    return ClusterRecovery(changes, None if later is None else round(later - removed_at, 3), later is not None)
