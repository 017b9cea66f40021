"""The game day record from a timeline: the sheet, the preflight, the live log, notes and the abort."""

from __future__ import annotations

import json

from chaoslib_ext.gameday.record import GameDay, Record
from chaoslib_ext.run.timeline import Timeline

SHEET = [{"name": "TTFT p99 | low", "phase": "baseline", "metric": "ttft_ms.p99", "expect": "< 300"}]


def test_the_record_is_written_from_the_timeline_as_it_grows(tmp_path):
    timeline = Timeline(tmp_path / "timeline.json")
    record = Record(tmp_path / "gameday", "drill", GameDay("ana", "bo", ("cy",)), SHEET)
    timeline.record_preflight("baseline healthy", "the last 10s", True, "errors 0.0%")
    timeline.record_preflight("stop conditions", "safeguards", False, "none declared", blocking=False)
    timeline.record_step("slow redis", "approved", "ana")
    timeline.record_fault_injected("delay-redis", "network", "proxy link redis", {}, {}, at=1000.0)
    timeline.record_note("TTFT climbs", who="bo")
    timeline.record_observation(False, "p99 over 1 s", "cy")
    seen: list[float] = []
    assert record.update(timeline.events(), lambda at: seen.append(at) or f"metrics at {at:.0f}")
    assert not record.update(timeline.events(), lambda at: "nothing new")  # nothing new: nothing written
    timeline.record_aborted(1005.0, "the key", "enough", "ana", ["delay-redis"], ["delay-redis"], {})
    record.update(timeline.events(), lambda at: "after")
    raw = json.loads((tmp_path / "gameday" / "record.json").read_text())
    assert raw["roles"] == {"facilitator": "ana", "scribe": "bo", "observers": ["cy"]}
    assert [(p["check"], p["ok"], p["blocking"]) for p in raw["preflight"]] == [
        ("baseline healthy", True, True), ("stop conditions", False, False)]  # fmt: skip
    rows = [(r["action"], r["observed"], r["steady_state_ok"]) for r in raw["log"]]
    assert rows[1] == ("fault delay-redis injected on proxy link redis", "metrics at 1000", None)  # then, not now
    assert rows[2] == ("", "note (bo): TTFT climbs", None)
    assert rows[3] == ("", "steady state NOT OK (cy): p99 over 1 s", False)
    assert raw["abort"]["via"] == "the key"
    md = (tmp_path / "gameday" / "record.md").read_text()
    assert "Facilitator: ana; scribe: bo; observers: cy." in md
    assert "| TTFT p99 \\| low |" in md  # a cell's pipe escaped
    assert "| warning | stop conditions |" in md
    assert "| **no** |" in md
    assert "verified gone on their backends: delay-redis." in md
