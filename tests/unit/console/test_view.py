"""What the console draws from a status: the phase, the live figures, the hypotheses, the fault bands."""

from __future__ import annotations

from rich.console import Console

from chaoslib_ext.console import view

STATUS = {
    "at": 1060.0, "phase": "fault", "phase_since": 1050.0, "window_s": 10.0,
    "metrics": {"ttft_ms.p50": 204.0, "ttft_ms.p99": 251.5, "itl_ms.p99": 19.1, "output_throughput_tps": 307.2,
                "error_rate": 0.02, "requests": 90.0},
    "in_flight": 8,
    "hypotheses": [{"name": "throughput holds", "phase": "fault", "metric": "output_throughput_tps",
                    "expect": ">= 50% of baseline", "live": 307.2, "bound": 247.4, "ok": True},
                   {"name": "fast", "phase": "fault", "metric": "ttft_ms.p99", "expect": "< 200", "live": 251.5,
                    "bound": 200.0, "ok": False}],
    "faults": [{"id": "delay-redis", "family": "network", "target": "proxy link redis", "state": "injected",
                "injected_at": 1050.0, "left_s": 49.2, "extend": "in place"}],
    "steps": {"approve": "each", "held": True, "steps": [{"index": 0, "name": "baseline", "state": "done"},
                                                          {"index": 1, "name": "slow redis", "state": "waiting"}]},
    "series": {"start": 1050, "ttft_p99_ms": [60.0, None, 250.0, 240.0]},
    "bands": [{"fault": "delay-redis", "from": 1052.0, "to": None}],
    "events": [{"at": 1050.0, "kind": "note", "text": "note: climbs"}],
    "stopped": None, "aborted": None,
}  # fmt: skip


def text(renderable: object) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_header_and_live_line_say_the_phase_and_the_figures():
    words = ["game", "day:", "drill", "FAULT", "for", "10s", "HELD", "every", "step", "waits", "for", "approval"]
    assert text(view.header(STATUS, "drill")).split() == words
    live = text(view.live_line(STATUS))
    for part in ("TTFT p50 204 ms", "p99 252 ms", "ITL p99 19.1 ms", "307 tok/s", "errors 2.0%", "in flight 8"):
        assert part in live


def test_hypotheses_faults_and_steps_are_drawn_with_their_state():
    hypotheses = text(view.hypotheses_table(STATUS))
    assert "NOT OK" in hypotheses
    assert "251.5" in hypotheses
    faults = text(view.faults_table(STATUS))
    assert "delay-redis" in faults
    assert "49s" in faults
    assert text(view.steps_text(STATUS)).strip() == "steps: ✓ 0:baseline  ▶ 1:slow redis"


def test_the_series_marks_the_seconds_a_fault_was_in_force():
    series = view.series_text(STATUS)
    bars = series.plain.splitlines()[1]
    assert bars == "▂ ██"  # scaled to the highest second shown; a second without a request is blank
    offset = len(series.plain.splitlines()[0]) + 1
    faulted = [s.start - offset for s in series.spans if "dark_red" in str(s.style)]
    assert faulted == [2, 3]  # the seconds from 1052 on, when the band starts
