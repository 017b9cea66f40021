"""The timeline's catalogue: one TypedDict and one ``record_*`` per event kind, all drawn in the module
docstring, and what is recorded reads back as written."""

from __future__ import annotations

import re
import typing

from chaoslib_ext.run import timeline
from chaoslib_ext.run.timeline import EVENT_KINDS, Timeline


def test_every_event_kind_has_its_type_its_writer_and_its_line_in_the_docstring():
    members = typing.get_args(timeline.TimelineEvent)
    kinds = {typing.get_args(typing.get_type_hints(m)["kind"])[0]: m.__name__ for m in members}
    assert set(kinds) == set(EVENT_KINDS)
    doc = timeline.__doc__ or ""
    for kind, name in kinds.items():
        assert re.search(rf"^\s+{name}\s+{kind}\b", doc, re.M), f"{name} ({kind}) is not drawn in the docstring"
        writer = "record_window" if kind == "window" else f"record_{kind}"
        assert callable(getattr(Timeline, writer, None)), f"no {writer}"


def test_what_is_recorded_reads_back_and_measures_the_window(tmp_path):
    t = Timeline(tmp_path / "timeline.json")
    t.record_load_started("http://127.0.0.1:1", 4, 2.0, at=100.0)
    t.record_fault_injected("f", "network", "link", {"delay": 1}, {"objects": ["x"]}, at=110.0)
    t.record_note("looks fine", at=115.0)
    t.record_fault_removed("f", at=120.0)
    t.record_load_stopped(at=130.0)
    events = t.events()
    assert [e["kind"] for e in events] == ["load_started", "fault_injected", "note", "fault_removed", "load_stopped"]
    assert events[1] == {"at": 110.0, "kind": "fault_injected", "fault": "f", "family": "network", "target": "link",
                         "spec": {"delay": 1}, "details": {"objects": ["x"]}}  # fmt: skip
    assert t.measure_window() == (102.0, 130.0)
    [interval] = t.fault_intervals()
    assert (interval.injected_at, interval.removed_at) == (110.0, 120.0)


def test_a_dead_load_process_ends_the_window_at_its_last_beat(tmp_path):
    t = Timeline(tmp_path / "timeline.json")
    t.record_load_started("http://127.0.0.1:1", 4, 0.0, at=100.0)
    t.record_load_died("locust worker (pid 7)", "gone", last_beat_at=111.5)
    t.record_load_stopped(at=140.0)
    assert t.measure_window() == (100.0, 111.5)
