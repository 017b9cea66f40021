"""``chaosllm report`` on a generated run: junit.xml, summary.json against its schema, report.html,
the history across days, and drift."""

from __future__ import annotations

import json

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml

from chaoslib_ext.cli.main import main
from chaoslib_ext.history import History, judge
from chaoslib_ext.verdict.summary import SCHEMA_PATH
from tests.synthetic_run import HYPOTHESES, Shape, make_run

DAY = 86_400.0


@pytest.fixture
def history(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite"
    monkeypatch.setenv("CHAOSLLM_HISTORY", str(path))
    return path


def test_junit_has_one_testcase_per_hypothesis_and_failures_carry_the_numbers(tmp_path, history):
    run = make_run(tmp_path, 1_795_300_000.0)
    assert main(["report", str(run)]) == 1
    suite = next(iter(JUnitXml.fromfile(str(run / "junit.xml"))))
    cases = list(suite)
    assert [c.name for c in cases] == [*(h["name"] for h in HYPOTHESES), "run outcome"]
    failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
    assert [c.name for c in failed] == ["fault TTFT p99 under 250 ms", "run outcome"]
    assert failed[1].result[0].type == "hypothesis_failed"
    message = failed[0].result[0].message
    assert "ttft_ms.p99 in fault = " in message
    assert "bound 250" in message
    assert "violated" in message
    assert suite.tests == 5
    assert suite.failures == 2
    assert suite.errors == 0


def test_a_run_whose_load_never_ran_has_errors_not_passes(tmp_path, history):
    run = make_run(tmp_path, 1_795_300_000.0)
    timeline = json.loads((run / "timeline.json").read_text())
    (run / "timeline.json").write_text(
        json.dumps({"events": [e for e in timeline["events"] if "load" not in e["kind"]]})
    )
    main(["report", str(run)])
    suite = next(iter(JUnitXml.fromfile(str(run / "junit.xml"))))
    *hypotheses, outcome = list(suite)
    assert all(isinstance(c.result[0], Error) for c in hypotheses)
    assert isinstance(outcome.result[0], Failure)  # no data never passes: the run failed


def test_a_run_that_could_not_be_trusted_is_an_error_in_junit_even_when_every_hypothesis_held(tmp_path, history):
    run = make_run(tmp_path, 1_795_300_000.0)
    timeline = json.loads((run / "timeline.json").read_text())
    at = timeline["events"][-1]["at"]
    timeline["events"].append({"at": at, "kind": "removal_failed", "fault": "f", "error": "proxy gone"})
    (run / "timeline.json").write_text(json.dumps(timeline))
    assert main(["report", str(run)]) == 2
    suite = next(iter(JUnitXml.fromfile(str(run / "junit.xml"))))
    outcome = list(suite)[-1]
    assert outcome.name == "run outcome"
    assert isinstance(outcome.result[0], Error)
    assert outcome.result[0].type == "fault_not_removed"
    assert "could not be removed: proxy gone" in outcome.result[0].message
    assert suite.errors >= 1
    assert "<skipped" not in (run / "junit.xml").read_text()


def test_summary_validates_against_the_published_schema(tmp_path, history):
    run = make_run(tmp_path, 1_795_300_000.0)
    main(["report", str(run)])
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    summary = json.loads((run / "summary.json").read_text())
    jsonschema.validate(summary, schema)
    assert 0 <= summary["resilience"]["score"] <= 100
    assert summary["faults"][0]["time_to_inject_s"] == pytest.approx(0.004, abs=1e-6)
    summary["version"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(summary, schema)


def test_report_html_is_self_contained_with_every_section(tmp_path, history):
    run = make_run(tmp_path, 1_795_300_000.0)
    main(["report", str(run)])
    page = (run / "report.html").read_text()
    for section in ('id="hypotheses"', 'id="timeline"', 'id="cdfs"', 'id="phases"', 'id="faults"', 'id="score"',
                    'id="formula"', 'id="environment"', "Client overhead", "operator: paging looks fine"):  # fmt: skip
        assert section in page, section
    assert page.count('<path class="series"') >= 4 + 2 * 4  # timeline series + a CDF per phase and metric
    assert "http://" not in page.replace("http://127.0.0.1:1", "")
    assert "https://" not in page
    assert "<script" not in page


def test_runs_on_different_days_make_a_trend_and_drift_is_flagged(tmp_path, history, capsys):
    for day in range(5):
        ttft = 150.0 if day < 4 else 400.0  # the newest run's fault hurts much more
        run = make_run(tmp_path / f"d{day}", 1_795_300_000.0 + day * DAY, Shape(fault_ttft_ms=ttft), seed=day)
        main(["report", str(run)])
    main(["report", str(run)])  # reporting again replaces the run, never counts it twice
    runs = History(history).runs("Synthetic Redis stall")
    assert len(runs) == 5
    assert [r.started_at for r in runs] == sorted(r.started_at for r in runs)
    capsys.readouterr()
    assert main(["history", "--metric", "fault.ttft_ms.p99", "--fail-on-drift"]) == 1
    out = capsys.readouterr().out
    days = {line.split()[0] for line in out.splitlines() if line.startswith("  2026-")}
    assert len(days) == 5
    assert "DRIFT up" in out
    page = (run / "report.html").read_text()
    assert "Trend: last 5 runs of this experiment" in page


def test_drift_needs_enough_earlier_runs_and_a_real_change():
    assert judge([10, 11]).status == "too few runs"
    assert judge([10, 10.5, 9.8, 10.2, 10.1]).status == "stable"
    assert judge([10, 10.5, 9.8, 10.2, 15]).status == "up"
    assert judge([10, 10.5, 9.8, 10.2, 7]).status == "down"
    assert judge([10, 10.0, 10.0, 10.0, 11.5]).status == "stable"  # 15 %: under the 20 % floor


def test_a_note_written_with_chaosllm_note_is_drawn_on_the_report(tmp_path, history, capsys):
    run = make_run(tmp_path, 1_795_300_000.0)
    window_start = json.loads((run / "timeline.json").read_text())["events"][0]["at"] + 10
    assert main(["note", str(run), "  p99  looks   high  ", "--at", str(window_start)]) == 0
    assert main(["note", str(tmp_path / "nothing"), "x"]) == 2
    main(["report", str(run)])
    page = (run / "report.html").read_text()
    assert page.count("p99 looks high") == 6  # a mark (its line titled, and labelled) on each of the 3 timelines
    notes = [e for e in json.loads((run / "timeline.json").read_text())["events"] if e["kind"] == "note"]
    assert [n["text"] for n in notes] == ["operator: paging looks fine", "p99 looks high"]


def test_a_phase_the_load_client_could_not_measure_makes_its_hypotheses_errors_and_the_run_2(tmp_path, history):
    started = 1_795_300_000.0
    run = make_run(tmp_path, started)
    fault = (started + 2.0 + 30.0, started + 2.0 + 60.0)  # make_run's fault third
    with (run / "samples" / "lag.jsonl").open("w") as f:
        for second in range(int(started), int(started) + 93):
            late = 9.0 if fault[0] <= second < fault[1] else 0.3  # the client lagged through the fault
            f.write(json.dumps({"at": second + 1.0, "s": 1.0, "pid": 5, "cpu": 0.9, "lag_ms": [late] * 50}) + "\n")
    assert main(["report", str(run)]) == 2
    summary = json.loads((run / "summary.json").read_text())
    jsonschema.validate(summary, json.loads(SCHEMA_PATH.read_text()))
    assert summary["outcome"]["cause"] == "not_measurable"
    status = {h["name"]: h["status"] for h in summary["hypotheses"]}
    # the fault phase's own hypotheses are errors; baseline's and recovery's (against baseline) stand
    assert status["throughput holds"] == status["fault TTFT p99 under 250 ms"] == "error"
    assert status["baseline TTFT p99 under 200 ms"] == "pass"
    assert status["recovered"] in ("pass", "fail")
    validity = summary["validity"]["phases"]
    assert validity["fault"]["measurable"] is False
    assert "0.0 of 30.0 s measurable" in validity["fault"]["reason"]
    assert "the phase's client lag p99 9.0 ms" in validity["fault"]["reason"]
    assert validity["baseline"]["measurable"] is True
    assert validity["baseline"]["client_lag_ms"]["p99"] == pytest.approx(0.3)
    suite = next(iter(JUnitXml.fromfile(str(run / "junit.xml"))))
    errors = [c.name for c in suite if c.result and isinstance(c.result[0], Error)]
    assert errors == ["throughput holds", "fault TTFT p99 under 250 ms", "run outcome"]
    assert "Measurement validity" in (run / "report.md").read_text()
    assert 'id="validity"' in (run / "report.html").read_text()
