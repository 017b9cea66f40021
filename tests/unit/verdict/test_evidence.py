"""Evidence that a fault reached the traffic, from its counters and the load's samples."""

from __future__ import annotations

import pytest

from chaoslib_ext.report.tables import _evidence
from chaoslib_ext.samples import Sample
from chaoslib_ext.samples.table import SampleTable
from chaoslib_ext.verdict.evidence import FaultEvidence, fault_evidence
from chaoslib_ext.verdict.summary import FaultRecord


def table(starts: list[float], marks: list[int] | None = None) -> SampleTable:
    marks = marks or [0] * len(starts)
    return SampleTable.from_samples(
        Sample(t0, 5.0, (1.0,), 2, 2, 200, None, 100.0, faults=m) for t0, m in zip(starts, marks, strict=True)
    )


STARTS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0]  # six in the window [1, 4)


def test_a_stream_fault_sets_its_counters_against_the_requests_of_its_window_and_their_marks():
    samples = table(STARTS, [0, 0b100, 0, 0b100, 0b101, 0, 0b100])
    ev = fault_evidence(samples, 1.0, 4.0, {"evidence": {"requests": 5, "touched": 2, "effects": 2}, "mark": 2},
                        {"percent": 50})  # fmt: skip
    assert (ev.window_requests, ev.coverage, ev.effect_rate, ev.expected_rate) == (5, 1.0, 0.4, 0.5)
    assert ev.marked == 3  # the requests of its window carrying bit 2; the one at 9.0 is another fault's
    assert not ev.missed


def test_a_byte_fault_on_an_http_link_counts_the_samples_carrying_its_mark_and_a_tcp_links_none():
    samples = table(STARTS, [0, 0b10, 0b10, 0b11, 0b10, 0b10, 0])
    counters = {"chunks": 90, "bytes": 9000, "connections": 4, "requests": 6}
    ev = fault_evidence(samples, 1.0, 4.0, {"evidence": counters, "mark": 1}, {})
    assert (ev.kind, ev.passed, ev.touched, ev.effects, ev.coverage, ev.marked) == ("bytes", 6, 4, 90, 1.0, 5)
    record = FaultRecord("f", "network", "gateway", "x", {}, "removed", 0.9, 1.0, 4.0, None, {}, 0.1, ev)
    assert "90 chunks on 4 connections through it; 5 requests marked in the load's samples" in _evidence(record)
    tcp = fault_evidence(samples, 1.0, 4.0, {"evidence": {"chunks": 90, "bytes": 9000, "connections": 4}}, {})
    assert (tcp.passed, tcp.coverage, tcp.marked) == (None, None, None)


def test_a_dependencys_calls_give_the_share_of_them_that_went_through_the_faulted_server():
    ev = fault_evidence(table(STARTS), 1.0, 4.0, {"evidence": {"calls": 30, "calls_all": 40}}, {})
    assert (ev.kind, ev.effects, ev.calls_all, ev.coverage) == ("calls", 30, 40, 0.75)
    assert ev.to_json()["calls_all"] == 40
    assert FaultEvidence.from_json(ev.to_json()) == ev
    # a count without the dependency's total (a record of an older release): coverage unknown
    older = fault_evidence(table(STARTS), 1.0, 4.0, {"evidence": {"calls": 30}}, {})
    assert older.coverage is None
    assert older.effects == 30


def test_a_fault_whose_counters_show_nothing_while_requests_flowed_is_missed_and_said_so():
    ev = fault_evidence(table(STARTS), 1.0, 4.0, {"evidence": {"calls": 0, "calls_all": 25}}, {})
    assert ev.missed
    assert ev.coverage == 0.0
    idle = fault_evidence(table([9.0]), 1.0, 4.0, {"evidence": {"calls": 0, "calls_all": 0}}, {})
    assert not idle.missed  # nothing flowed: nothing to reach
    unknown = fault_evidence(table(STARTS), 1.0, 4.0, {}, {})
    assert not unknown.counted
    assert not unknown.missed


@pytest.mark.parametrize(
    ("counters", "said"),
    [
        ({"calls": 30, "calls_all": 40}, "fault_coverage 75% (of the dependency's 40 calls in its window), 30 calls"),
        ({"calls": 0, "calls_all": 25}, "NO EFFECT: the run is inconclusive"),
        ({"calls": 3}, "fault_coverage unknown (its dependency's other calls not counted"),
    ],
)
def test_the_report_says_what_the_counters_say(counters, said):
    ev = fault_evidence(table(STARTS), 1.0, 4.0, {"evidence": counters}, {})
    record = FaultRecord("f", "redis", "redis", "redis x", {}, "removed", 0.9, 1.0, 4.0, None, {}, 0.1, ev)
    assert said in _evidence(record)
