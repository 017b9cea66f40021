"""The fault lifecycle on the recording driver: the undo is in the ledger before the injection, a
failed injection is undone at once and leaves nothing, removals are retried with backoff and a fault
that cannot be removed stays listed for the next sweep."""

from __future__ import annotations

import pytest

from chaoslib_ext.exceptions import FaultInjectionError, FaultRemovalError
from chaoslib_ext.faults import lifecycle, removers
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.rundir import RunDir
from tests.fakes.recording_driver import RecordingDriver, recorded


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setitem(removers.DRIVERS, RecordingDriver.name, RecordingDriver)
    monkeypatch.setattr(lifecycle.time, "sleep", lambda s: sleeps.append(s))
    sleeps.clear()
    return RunContext(RunDir(tmp_path / "run"), "sandbox")


sleeps: list[float] = []


def kinds(run: RunContext) -> list[str]:
    return [e["kind"] for e in run.timeline.events()]


def test_the_undo_is_recorded_before_the_fault_is_injected(run, tmp_path):
    state = tmp_path / "fault.json"
    entry = lifecycle.inject(run, RecordingDriver(state), "f1", "test", {"x": 1})
    assert recorded(state)["calls"] == ["undo", "inject"]
    assert entry.undo == {"state": str(state), "fault": "f1"}
    assert entry.state == "injected"
    assert entry.details == {"recorded": True}
    assert kinds(run) == ["fault_injected"]


def test_a_failed_injection_is_undone_at_once_and_nothing_is_left(run, tmp_path):
    state = tmp_path / "fault.json"
    with pytest.raises(FaultInjectionError, match="told to fail its injection"):
        lifecycle.inject(run, RecordingDriver(state, fail_inject=True), "f1", "test", {})
    assert recorded(state)["calls"] == ["undo", "inject", "remove"]
    assert recorded(state)["in_place"] is False
    [entry] = run.ledger.entries()
    assert entry.state == "failed"
    assert run.ledger.outstanding() == []
    assert kinds(run) == ["fault_failed"]


def test_a_removal_that_fails_is_retried_with_exponential_backoff(run, tmp_path):
    state = tmp_path / "fault.json"
    entry = lifecycle.inject(run, RecordingDriver(state, fail_removals=2), "f1", "test", {})
    removed = lifecycle.remove(run, entry, attempts=4, backoff_s=0.25)
    assert removed.state == "removed"
    assert sleeps == [0.25, 0.5]
    assert kinds(run) == ["fault_injected", "removal_retried", "removal_retried", "fault_removed"]
    assert recorded(state)["in_place"] is False


def test_a_fault_that_cannot_be_removed_stays_listed_and_the_sweep_says_so(run, tmp_path):
    state = tmp_path / "fault.json"
    lifecycle.inject(run, RecordingDriver(state, fail_removals=9), "stuck", "test", {})
    lifecycle.inject(run, RecordingDriver(tmp_path / "other.json"), "fine", "test", {})
    assert lifecycle.sweep(run) == (["fine"], ["stuck"])
    assert [e.id for e in run.ledger.outstanding()] == ["stuck"]
    assert "told to fail this removal" in run.ledger.get("stuck").error  # the driver's own words, kept
    assert kinds(run).count("removal_failed") == 1
    assert sleeps == [0.25, 0.5, 1.0]
    with pytest.raises(FaultRemovalError, match="after 4 attempts"):
        lifecycle.remove(run, run.ledger.get("stuck"))


def test_a_fault_held_by_apply_is_removed_when_its_time_is_up(run, tmp_path):
    state = tmp_path / "fault.json"
    result = lifecycle.apply(run, RecordingDriver(state), "held", "test", {}, hold_s=0.0)
    assert result["removed_at"] >= result["injected_at"]
    assert recorded(state)["calls"] == ["undo", "inject", "remove"]
    assert run.ledger.outstanding() == []


def test_no_fault_goes_into_a_stopped_run(run, tmp_path):
    run.stop("safeguard", "tripped", safeguard="s")
    state = tmp_path / "fault.json"
    with pytest.raises(FaultInjectionError, match="the run was stopped"):
        lifecycle.inject(run, RecordingDriver(state), "late", "test", {})
    assert recorded(state)["calls"] == []
    assert run.ledger.entries() == []


def test_a_ledger_naming_an_unknown_driver_is_refused_by_name(run):
    with pytest.raises(FaultRemovalError, match="no fault driver 'nope' \\(accepted: proxy, chaos-mesh"):
        removers.driver_class("nope")
