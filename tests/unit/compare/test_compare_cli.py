"""``chaosllm compare`` on generated runs: exit codes, the three files, the side-by-side HTML with
overlaid CDFs, directories of blocks, and bad input (exit 2, the option and the accepted values)."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

from chaoslib_ext.cli.main import main
from chaoslib_ext.compare.report import SCHEMA_PATH
from chaoslib_ext.samples import REQUEST
from tests.synthetic_run import Shape, make_run

T0 = 1_795_300_000.0


@pytest.fixture(autouse=True)
def history(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSLLM_HISTORY", str(tmp_path / "history.sqlite"))


def test_a_slower_release_regresses_and_exits_1(tmp_path, capsys):
    a = make_run(tmp_path / "a", T0, Shape(requests=6000), seed=1)
    b = make_run(tmp_path / "b", T0, Shape(requests=6000, ttft_ms=72.0), seed=2)
    out = tmp_path / "cmp"
    assert main(["compare", "--resamples", "400", str(a), str(b), "--out", str(out)]) == 1
    data = json.loads((out / "compare.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["settings"]["paired"] is False
    assert data["schema"] == "chaosllm/compare"
    assert data["outcome"] == {"regressions": 6, "exit_code": 1}
    rows = {(r["phase"], r["metric"]): r for r in data["rows"]}
    assert {p for p, _ in rows} == {"baseline", "fault", "recovery"}
    base = rows[("baseline", "ttft_ms.p50")]
    assert base["verdict"] == "regressed"
    assert 0.15 < base["delta"]["low"] < base["delta"]["estimate"] < 0.25
    assert rows[("baseline", "itl_ms.p50")]["verdict"] == "no detectable change"
    printed = capsys.readouterr().out
    assert "regressed against" in printed
    assert re.search(r"\| baseline +\| ttft_ms\.p50 +\|", printed)


def test_the_same_run_twice_exits_0(tmp_path):
    a = make_run(tmp_path / "a", T0)
    out = tmp_path / "cmp"
    assert main(["compare", "--resamples", "400", str(a), str(a), "--out", str(out)]) == 0
    assert "No regression" in (out / "compare.md").read_text()


def test_html_sets_a_and_b_side_by_side_with_overlaid_cdfs(tmp_path):
    a = make_run(tmp_path / "a", T0, seed=1)
    b = make_run(tmp_path / "b", T0, Shape(ttft_ms=90.0), seed=2)
    out = tmp_path / "cmp"
    main(["compare", "--resamples", "400", str(a), str(b), "--out", str(out)])
    html = (out / "compare.html").read_text()
    assert 'id="sides"' in html
    assert 'id="deltas"' in html
    assert 'id="method"' in html
    charts = re.findall(r"<figure class=\"chart\">.*?</figure>", html, re.S)
    assert len(charts) == 6  # TTFT and ITL for baseline, fault, recovery
    for chart in charts:
        assert len(re.findall(r'<path class="series', chart)) == 2  # A and B overlaid
    assert '<td class="fail">regressed</td>' in html
    assert not re.search(r"https?://|<script", html)


def test_directories_of_blocks_pool_their_runs(tmp_path):
    for i in range(2):
        make_run(tmp_path / "A", T0 + 1000 * i, seed=10 + i)
        make_run(tmp_path / "B", T0 + 1000 * i, seed=20 + i)
    out = tmp_path / "cmp"
    assert main(["compare", "--resamples", "400", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(out)]) == 0
    data = json.loads((out / "compare.json").read_text())
    assert len(data["a"]["runs"]) == 2
    assert data["a"]["phases"]["baseline"]["duration_s"] == pytest.approx(60.0)


def test_thresholds_metrics_and_phases_are_options(tmp_path):
    a = make_run(tmp_path / "a", T0, Shape(requests=6000), seed=1)
    b = make_run(tmp_path / "b", T0, Shape(requests=6000, ttft_ms=72.0), seed=2)
    out = tmp_path / "cmp"
    args = [
        "compare",
        "--resamples",
        "400",
        str(a),
        str(b),
        "--out",
        str(out),
        "--metric",
        "ttft_ms.p50",
        "--phase",
        "overall",
    ]
    assert main([*args, "--threshold", "ttft_ms.p50=50%"]) == 0
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert [(r["phase"], r["metric"], r["verdict"]) for r in rows] == [
        ("overall", "ttft_ms.p50", "no detectable change")
    ]
    assert "smaller than the 50% threshold" in rows[0]["reason"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "ttft_ms.p99"], "expected KEY=VALUE"),
        (["--threshold", "ttft_ms.p99=ten"], "is not a number"),
        (["--metric", "ttft_p99"], "unknown metric 'ttft_p99' (accepted: ttft_ms"),
        (["--phase", "during"], "--phase 'during' (accepted: baseline, fault, recovery, overall)"),
        (["--confidence", "95"], "--confidence 95.0: accepted 0.5 to 0.999"),
        (["--max-steal", "150%"], "--max-steal '150%': accepted 1% to 100%, or off"),
        (["--max-steal", "lots"], "is not a number"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, capsys, extra, message):
    a = make_run(tmp_path / "a", T0)
    assert main(["compare", "--resamples", "400", str(a), str(a), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_path_that_is_no_run_exits_2(tmp_path, capsys):
    a = make_run(tmp_path / "a", T0)
    (tmp_path / "empty").mkdir()
    assert main(["compare", "--resamples", "400", str(a), str(tmp_path / "empty"), "--out", str(tmp_path / "cmp")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def starve(run, start: float, end: float, stall_ms: float) -> int:
    """The load generator of ``run`` starved from ``start`` to ``end`` (host.jsonl: steal 40 %, elsewhere
    5 %), its requests in flight then ``stall_ms`` late; returns how many requests that hits."""
    path = run / "samples" / "samples-1.req"
    records = np.fromfile(path, dtype=REQUEST)
    hit = (records["t0"] < end) & (records["t0"] + records["done_ms"] / 1000 > start)
    for field in ("ttft_ms", "e2el_ms", "done_ms"):
        records[field][hit] += stall_ms
    records.tofile(path)
    seconds = np.arange(np.floor(records["t0"].min()), np.ceil(records["t0"].max()) + 2)
    lines = [
        {"at": float(at), "s": 1.0, "busy": 0.6, "steal": 0.4 if start < at <= end else 0.05} for at in seconds[1:]
    ]
    (run / "samples" / "host.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return int(hit.sum())


def test_seconds_the_load_generator_was_starved_are_left_out_of_both_sides(tmp_path):
    a = make_run(tmp_path / "a", T0, Shape(requests=6000), seed=1)
    b = make_run(tmp_path / "b", T0, Shape(requests=6000), seed=2)
    begin = T0 + 2.0
    hit = starve(b, begin + 10.0, begin + 15.0, stall_ms=400.0)  # 5 of the baseline's 30 s
    args = ["compare", "--resamples", "400", "--metric", "ttft_ms.p99", "--phase", "baseline", str(a), str(b)]
    assert main([*args, "--max-steal", "off", "--out", str(tmp_path / "all")]) == 1  # the stall reads as B's
    assert main([*args, "--out", str(tmp_path / "cmp")]) == 0  # default: 20 %
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["settings"]["max_steal"] == 0.2
    baseline = data["b"]["phases"]["baseline"]
    assert baseline["excluded_s"] == pytest.approx(5.0)
    assert baseline["duration_s"] == pytest.approx(25.0)
    assert baseline["excluded_requests"] == hit  # every request in flight then, all in the baseline here
    assert data["a"]["phases"]["baseline"]["excluded_s"] == 0  # A's host was never starved
    assert (
        f"0 s, 0 requests; B 1795300000-synthetic 5 s, {hit} requests" in (tmp_path / "cmp" / "compare.md").read_text()
    )
    kept = json.loads((tmp_path / "all" / "compare.json").read_text())
    assert kept["settings"]["max_steal"] is None
    assert kept["b"]["phases"]["baseline"]["excluded_requests"] == 0


def test_a_phase_whose_every_request_was_left_out_is_reported_not_available(tmp_path):
    a = make_run(tmp_path / "a", T0, Shape(requests=6000), seed=1)
    b = make_run(tmp_path / "b", T0, Shape(requests=6000), seed=2)
    begin = T0 + 2.0
    starve(b, begin - 1.0, begin + 31.0, stall_ms=400.0)  # the whole 30 s baseline
    out = tmp_path / "cmp"
    assert main(["compare", "--resamples", "400", "--metric", "ttft_ms.p99", str(a), str(b), "--out", str(out)]) == 0
    data = json.loads((out / "compare.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    baseline = data["b"]["phases"]["baseline"]  # still reported: what was left out, and why
    assert baseline["requests"] == 0
    assert baseline["excluded_requests"] > 900  # a third of 6000, less the warmup's
    assert baseline["duration_s"] == pytest.approx(0.0)
    rows = {r["phase"]: r for r in data["rows"]}
    assert rows["baseline"]["verdict"] == "n/a"
    assert f"no requests in baseline ({baseline['excluded_requests']} left out" in rows["baseline"]["reason"]
    assert rows["fault"]["verdict"] == "no detectable change"  # the other phases are still compared
