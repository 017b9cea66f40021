"""report.html in a real browser (Debian's headless Chromium, driven by Playwright): the tables and
the SVG plots render with a size and content; a screenshot is kept in reports/artefacts/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from chaoslib_ext.cli.main import main
from tests.synthetic_run import make_run

ARTEFACTS = Path(__file__).resolve().parents[2] / "reports" / "artefacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def test_report_html_renders_plots_and_tables_in_chromium(tmp_path, monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/test installs Debian's chromium package")
    monkeypatch.setenv("CHAOSLLM_HISTORY", str(tmp_path / "history.sqlite"))
    run = make_run(tmp_path, 1_795_300_000.0)
    main(["report", str(run)])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 960, "height": 1200})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(run.joinpath("report.html").as_uri())
            charts = page.eval_on_selector_all(
                "svg.chart",
                "els => els.map(e => ({w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height,"
                " paths: [...e.querySelectorAll('path.series')].filter(p => p.getTotalLength() > 50).length,"
                " bands: e.querySelectorAll('rect.fault').length}))",
            )
            rows = {s: page.locator(f"#{s} tbody tr").count() for s in ("hypotheses", "phases", "faults")}
            verdicts = page.locator("#hypotheses td.fail").count(), page.locator("#hypotheses td.pass").count()
            score = page.inner_text("#score")
            page.screenshot(path=str(ARTEFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(charts) == 5  # TTFT, throughput, error rate over time; TTFT and ITL CDFs
    assert all(c["w"] > 400 and c["h"] > 100 for c in charts), charts
    assert [c["paths"] for c in charts] == [2, 1, 1, 4, 4]  # every line drawn, a CDF per phase
    assert [c["bands"] for c in charts[:3]] == [1, 1, 1]  # the fault shaded on every timeline
    assert rows == {"hypotheses": 4, "phases": 4, "faults": 1}
    assert verdicts == (1, 3)
    assert float(score) > 0
    assert requests == [run.joinpath("report.html").as_uri()]  # self-contained: nothing else fetched
    assert (ARTEFACTS / "report.png").stat().st_size > 50_000
