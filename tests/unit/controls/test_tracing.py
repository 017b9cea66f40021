"""The run's spans against an OTLP/HTTP receiver (tests/fakes/otlp.py, decoding with opentelemetry-proto):
a fault's span leaves once the fault is removed, the run's end sends the rest once, and a killed run's
spans are sent by the cleanup under the run's own ids, once, and only when the collector took them."""

from __future__ import annotations

import time

import pytest

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext.controls.tracing import OTLP_KEY, OtlpSpec, RunTracer, close_after_cleanup
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry
from chaoslib_ext.run.rundir import RunDir
from tests.fakes.otlp import OtlpReceiver


@pytest.fixture
def receiver():
    found = OtlpReceiver()
    found.start()
    yield found
    found.stop()


def received(receiver: OtlpReceiver, name: str, timeout_s: float = 10.0) -> list:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not any(s.name == name for s in receiver.spans):
        time.sleep(0.05)
    return [s for s in receiver.spans if s.name == name]


def fault(run: RunContext, fault_id: str, injected_at: float, removed_at: float | None = None) -> None:
    state = "injected" if removed_at is None else "removed"
    run.ledger.add(LedgerEntry(fault_id, "network", "proxy", "redis", {}, {}, state=state,
                               injected_at=injected_at, removed_at=removed_at))  # fmt: skip


def test_a_faults_span_leaves_once_it_is_removed_and_the_end_sends_the_rest(receiver, tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    tracer = RunTracer(run, OtlpSpec(receiver.url, {}), "t")
    start = time.time()
    fault(run, "gone", start, start + 1)
    fault(run, "held", start)
    tracer.sync()
    tracer.sync()  # nothing new: nothing sent twice
    [gone] = received(receiver, "fault gone")
    assert (gone.start_ns, gone.end_ns) == (int(start * 1e9), int((start + 1) * 1e9))
    assert received(receiver, "fault held", timeout_s=1.5) == []  # still in force
    assert read_json(tmp_path / "traces.json")["faults"] == ["gone"]
    tracer.finish()
    [root] = received(receiver, "chaosllm run t")
    [held] = received(receiver, "fault held")
    assert held.parent_id == gone.parent_id == root.span_id
    assert len(received(receiver, "fault gone")) == 1
    state = read_json(tmp_path / "traces.json")
    assert state["ended"] is True
    assert (state["trace_id"], state["span_id"]) == (root.trace_id, root.span_id)
    assert close_after_cleanup(run, {OTLP_KEY: {"endpoint": receiver.url}}) is None  # the run ended it


def test_the_cleanup_sends_a_killed_runs_span_once_and_only_when_taken(receiver, tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    tracer = RunTracer(run, OtlpSpec(receiver.url, {}), "killed")
    start = time.time()
    fault(run, "held", start)
    tracer.sync()  # and then the run is killed: no finish
    ids = read_json(tmp_path / "traces.json")
    run.ledger.update("held", state="removed", removed_at=start + 5)  # the cleanup's removal
    down = close_after_cleanup(run, {OTLP_KEY: {"endpoint": "http://127.0.0.1:9"}})
    assert down == "the run's span and its faults' could not be exported to http://127.0.0.1:9 " \
                   "(tried again at the next cleanup)"  # fmt: skip
    assert read_json(tmp_path / "traces.json")["ended"] is False
    said = close_after_cleanup(run, {OTLP_KEY: {"endpoint": receiver.url}})
    assert said == "the run's span and 1 fault span(s) exported"
    [root] = received(receiver, "chaosllm run killed")
    assert (root.trace_id, root.span_id, root.parent_id) == (ids["trace_id"], ids["span_id"], "")
    assert root.status[0] == 2  # error: the run was killed
    [held] = received(receiver, "fault held")
    assert (held.parent_id, held.end_ns) == (root.span_id, int((start + 5) * 1e9))
    assert close_after_cleanup(run, {OTLP_KEY: {"endpoint": receiver.url}}) is None  # sent once
