"""Recorded real runs (tests/data/runs/, made by ``python -m tests.recorded.record``) rendered again:
summary.json, report.md, junit.xml and compare.json must come out byte for byte as they were
recorded, but for the fields that say when they were written (``MASKED``), and every schema must
validate. A refactoring of metrics, verdicts or renderers that changes what a user reads fails here."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from chaoslib_ext.cli.main import main
from chaoslib_ext.compare.report import SCHEMA_PATH as COMPARE_SCHEMA
from chaoslib_ext.verdict.summary import SCHEMA_PATH as SUMMARY_SCHEMA
from tests.recorded.record import RUN_PLACEHOLDER

RUNS = Path(__file__).parents[2] / "data" / "runs"
#: the only fields that may differ: when a file was written, not what it says (and compare.json's
#: run directories, recorded as RUN_PLACEHOLDER)
MASKED = {"summary.json": ("written_at",), "compare.json": ("created_at",)}


def masked(name: str, text: str) -> str:
    for key in MASKED.get(name, ()):
        text = re.sub(rf'("{key}": )[0-9.e+-]+', r"\1<masked>", text)
    return text


@pytest.fixture
def rendered(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSLLM_HISTORY", str(tmp_path / "history.sqlite"))

    def render(name: str) -> Path:
        run = tmp_path / name
        shutil.copytree(RUNS / name, run, ignore=shutil.ignore_patterns("expected"))
        main(["report", str(run)])
        return run

    return render


RECORDED = sorted(p.name for p in RUNS.iterdir() if p.is_dir()) if RUNS.exists() else []


def test_the_four_runs_are_recorded():
    assert RECORDED == ["aborted", "chaos-mesh", "compare", "demo"]


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_run_renders_byte_for_byte_as_recorded(name, rendered):
    run = rendered(name)
    for file in ("summary.json", "report.md", "junit.xml"):
        expected = (RUNS / name / "expected" / file).read_text()
        assert masked(file, (run / file).read_text()) == masked(file, expected), f"{name}/{file} changed"
    jsonschema.validate(json.loads((run / "summary.json").read_text()), json.loads(SUMMARY_SCHEMA.read_text()))


def test_the_recorded_comparison_compares_byte_for_byte(rendered, tmp_path):
    run = rendered("compare")
    main(["compare", str(run), "--out", str(tmp_path / "comparison")])
    got = (tmp_path / "comparison" / "compare.json").read_text().replace(str(run), RUN_PLACEHOLDER)
    expected = (RUNS / "compare" / "expected" / "compare.json").read_text()
    assert masked("compare.json", got) == masked("compare.json", expected)
    jsonschema.validate(json.loads(got), json.loads(COMPARE_SCHEMA.read_text()))


def test_the_recorded_runs_end_as_they_ended():
    causes = {name: json.loads((RUNS / name / "expected" / "summary.json").read_text())["outcome"]["cause"]
              for name in RECORDED}  # fmt: skip
    assert causes["aborted"] == "operator_abort"
    assert causes["demo"] == "passed"
    assert causes["chaos-mesh"] == "passed"
