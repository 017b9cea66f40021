"""Evidence that a fault reached the measured requests.

A connection-scoped fault can miss long-lived streams, so a pass may mean the fault never touched the
traffic. A fault that counts its effects (every fault of the fault proxy, read over its control API when
the fault is removed, kept in the ledger as ``details.evidence``) is checked against the requests the
load started while it was in force. Two kinds of counters:

- ``stream`` (a stream fault): ``passed`` requests through the HTTP link, ``touched`` the ones its
  ``percent`` drew, ``effects`` what it did (errors answered, holds, cuts, events corrupted or dropped);
- ``calls`` (every Redis fault but failover; the Kafka cluster's): ``effects`` the calls the faulted server (a
  Redis server, a Kafka broker) processed from the injection to the removal, ours left out (INFO
  commandstats; the mock cluster's request log), and ``calls_all`` those of the whole dependency (its
  other Redis servers' reads; every broker's produce and fetch requests);
- ``bytes`` (a delay, loss, bandwidth, ... fault): ``passed`` the requests it touched on an HTTP link
  (their head passed while it was in force on the way to the server, or their response's bytes on the
  way back; None on a TCP link), ``touched`` connections that carried its direction's bytes, ``effects``
  chunks that did.

From them:

- ``coverage``: the share of the load's requests that passed through the faulted path (None when the
  proxy cannot tell requests apart: a TCP link such as Redis's); for a dependency behind the gateway
  (``calls``), the share of its calls in the window that went through the faulted server;
- ``effect_rate`` (stream faults): the share of the passing requests the fault touched, beside
  ``expected_rate`` (its ``percent``);
- ``marked`` (every fault on an HTTP link): the load's own count of the requests the fault touched: the
  proxy marks each (a header of the response, or an SSE comment when it learns of the touch later) and
  the samples keep the marks; a mark cannot reach the client through a response the fault stopped (a
  reset, a partition) or after the head of a body that is not an event stream;
- a fault whose counters show no effect while requests flowed is ``missed``: the run is inconclusive
  (exit 2), never a pass. A fault without counters (Chaos Mesh objects, the Kafka broker's pause and
  restart, a Redis failover) has coverage ``unknown`` and is never inconclusive on that ground alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np

from chaoslib_ext._jsonfile import JsonObject
from chaoslib_ext.samples.table import SampleTable

__all__ = ["FaultEvidence", "FaultEvidenceJson", "fault_evidence"]


class FaultEvidenceJson(TypedDict):
    window_requests: int
    counted: bool
    kind: str | None
    passed: int | None
    touched: int | None
    effects: int | None
    coverage: float | None
    effect_rate: float | None
    expected_rate: float | None
    marked: NotRequired[int | None]
    calls_all: NotRequired[int | None]


@dataclass(frozen=True)
class FaultEvidence:
    window_requests: int  # requests the load started while the fault was in force
    counted: bool  # the fault counts its effects; False: coverage unknown
    passed: int | None = None  # requests through the faulted path while it was in force (its counters)
    touched: int | None = None  # stream: requests its share drew; bytes: connections that carried its bytes
    effects: int | None = None  # stream: errors answered, holds, cuts...; bytes: chunks through it
    expected_rate: float | None = None  # a stream fault's percent / 100
    kind: str | None = None  # "stream" | "bytes" | "calls" (None: no counters)
    marked: int | None = None  # HTTP links: the load's samples that carry its mark (the client's own count)
    calls_all: int | None = None  # calls: the whole dependency's calls in the window (None: not counted)

    @property
    def coverage(self) -> float | None:
        if self.kind == "calls":
            return None if not self.calls_all or self.effects is None else min(1.0, self.effects / self.calls_all)
        if self.passed is None or not self.window_requests:
            return None
        return min(1.0, self.passed / self.window_requests)

    @property
    def effect_rate(self) -> float | None:
        if self.kind != "stream" or self.touched is None or not self.passed:
            return None
        return self.touched / self.passed

    @property
    def missed(self) -> bool:
        """The fault's counters show it did nothing while requests flowed."""
        return self.counted and self.window_requests > 0 and not self.effects

    def to_json(self) -> FaultEvidenceJson:
        out = self._to_json()
        if self.kind == "calls":
            out["calls_all"] = self.calls_all
        return out

    def _to_json(self) -> FaultEvidenceJson:
        return {
            "window_requests": self.window_requests,
            "counted": self.counted,
            "kind": self.kind,
            "passed": self.passed,
            "touched": self.touched,
            "effects": self.effects,
            "coverage": self.coverage,
            "effect_rate": self.effect_rate,
            "expected_rate": self.expected_rate,
            "marked": self.marked,
        }

    @classmethod
    def from_json(cls, raw: FaultEvidenceJson) -> FaultEvidence:
        return cls(raw["window_requests"], raw["counted"], raw["passed"], raw["touched"], raw["effects"],
                   raw["expected_rate"], raw["kind"], raw.get("marked"), raw.get("calls_all"))  # fmt: skip


def fault_evidence(
    table: SampleTable, injected_at: float | None, removed_at: float | None, details: JsonObject, spec: JsonObject
) -> FaultEvidence | None:
    """The evidence of one fault of the ledger; None for a fault that never took effect."""
    if injected_at is None:
        return None
    end = removed_at if removed_at is not None else np.inf
    started = table.start_at
    window_requests = int(((started >= injected_at) & (started < end)).sum())
    counters = details.get("evidence")
    if not isinstance(counters, dict):
        return FaultEvidence(window_requests, counted=False)
    if "calls" in counters:  # a dependency's own count of the calls it served while faulted
        return FaultEvidence(window_requests, True, None, None, _int(counters.get("calls")), None, "calls",
                             calls_all=_int(counters.get("calls_all")))  # fmt: skip
    passed = _int(counters.get("requests"))
    marked = _marked(table, details.get("mark"), injected_at, end)
    if "chunks" in counters:
        touched, effects = _int(counters.get("connections")), _int(counters.get("chunks"))
        return FaultEvidence(window_requests, True, passed, touched, effects, None, "bytes", marked)
    percent = spec.get("percent")
    expected = float(percent) / 100.0 if isinstance(percent, int | float) else None
    touched, effects = _int(counters.get("touched")), _int(counters.get("effects"))
    return FaultEvidence(window_requests, True, passed, touched, effects, expected, "stream", marked)


def _marked(table: SampleTable, mark: object, injected_at: float, end: float) -> int | None:
    """The samples that carry the fault's bit (None: the fault had no bit, not on an HTTP link)."""
    if not isinstance(mark, int) or isinstance(mark, bool):
        return None
    # the bit is another fault's before and after this one's: requests that overlap its window only
    overlapping = (table.start_at < end) & (table.end_at > injected_at)
    return int((((table.faults >> np.uint32(mark)) & 1).astype(bool) & overlapping).sum())


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
