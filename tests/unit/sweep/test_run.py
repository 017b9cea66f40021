"""A sweep driven by made-up steps: its record after every step, the history entry, the reports."""

from __future__ import annotations

import json

from chaoslib_ext.history.store import History
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.sweep.report import write_sweep_reports
from chaoslib_ext.sweep.result import SweepResult
from chaoslib_ext.sweep.run import run_sweep
from chaoslib_ext.sweep.spec import Slo, SweepPlan
from chaoslib_ext.sweep.step import SloCheck, StepResult

SLO = Slo.parse("ttft_ms.p99<=500")


def made_up(rate: float, number: int, capacity: float = 30.0) -> StepResult:
    p99 = 60.0 if rate <= capacity else 4000.0
    check = SloCheck(SLO.text, p99, p99 * 1.1, SLO.met(p99 * 1.1))
    saturated = None if rate <= capacity else f"completed {capacity:g} req/s of {rate:g}"
    return StepResult(number, rate, f"/x/step-{number}", rate, rate, min(rate, capacity), 40.0, p99, 20.0, p99,
                      0.0, (check,), saturated, False)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sweep_records_each_step_and_its_knee(tmp_path):
    plan = SweepPlan(slos=(SLO,), start=4.0, resolution=0.05, step_s=10.0, warmup_s=2.0)
    spec = LoadSpec.parse({"url": "http://127.0.0.1:9", "model": "m", "rate": 1})
    clock, seen = Clock(), []

    def runner(rate: float, number: int) -> StepResult:
        record = tmp_path / "sweep.json"
        seen.append(len(json.loads(record.read_text())["steps"]) if record.exists() else 0)
        clock.now += 12.0
        return made_up(rate, number)

    history = History(tmp_path / "h.sqlite")
    result = run_sweep(spec, plan, tmp_path, None, history, runner=runner, clock=clock)
    assert [s.rate_rps for s in result.steps][:4] == [4.0, 8.0, 16.0, 32.0]
    assert seen == list(range(len(result.steps)))  # sweep.json rewritten after every step
    assert result.stopped == "resolved"
    assert result.knee_rps is not None
    assert 30.0 / 1.05 <= result.knee_rps <= 30.0
    assert SweepResult.read(tmp_path).knee_rps == result.knee_rps
    [entry] = history.sweeps()
    assert (entry.endpoint, entry.model, entry.knee_rps) == ("http://127.0.0.1:9/v1/chat/completions", "m",
                                                            result.knee_rps)  # fmt: skip
    write_sweep_reports(result, tmp_path)
    md = (tmp_path / "sweep.md").read_text()
    assert f"Knee: {result.knee_rps:.4g} req/s" in md
    assert "fail: completed 30 req/s of 32" in md
    assert (tmp_path / "sweep.html").read_text().count("<svg") == 2


def test_the_time_limit_stops_a_sweep_by_the_clock(tmp_path):
    plan = SweepPlan(slos=(SLO,), start=1.0, step_s=10.0, warmup_s=2.0, time_limit_s=50.0)
    spec = LoadSpec.parse({"url": "http://127.0.0.1:9", "rate": 1})
    clock = Clock()

    def runner(rate: float, number: int) -> StepResult:
        clock.now += 20.0  # a step takes longer than its 12 s: start-up and drain
        return made_up(rate, number, capacity=1000.0)

    result = run_sweep(spec, plan, tmp_path, None, None, runner=runner, clock=clock)
    assert (len(result.steps), result.stopped) == (2, "time_limit")  # 40 s spent, a third would end past 50 s
