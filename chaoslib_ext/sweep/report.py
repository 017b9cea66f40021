"""A sweep's reports: ``sweep.md`` (the steps as a table and the knee) and ``sweep.html`` (the same, and
rate -> TTFT P50 / P99, ITL P99 and completed rate drawn as inline SVG)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from chaoslib_ext.report.htmlkit import html_table, page
from chaoslib_ext.report.svg import Chart, Series
from chaoslib_ext.report.tables import text_table
from chaoslib_ext.secrets import scrub
from chaoslib_ext.sweep.result import SweepResult

__all__ = ["knee_sentence", "step_rows", "write_sweep_reports"]

HEADER = ["step", "rate req/s", "completed req/s", "TTFT p50 ms", "TTFT p99 ms", "ITL p99 ms",
          "TTFT from schedule p99 ms", "SLO bounds", "verdict"]  # fmt: skip
_STOPPED = {
    "resolved": "the knee is resolved to the plan's resolution",
    "max_steps": "the step limit was reached",
    "time_limit": "the time limit was reached",
    "below_start": "even the lowest rate tried failed",
    "above_range": "every rate up to the highest allowed passed",
    "interrupted": "it was interrupted",
    "load_failed": "a step's load could not run",
}


def _num(value: float | None, digits: str = ".4g") -> str:
    return "n/a" if value is None else format(value, digits)


def step_rows(result: SweepResult) -> list[list[str]]:
    rows = []
    for s in sorted(result.steps, key=lambda s: s.rate_rps):
        bounds = "; ".join(f"{c.slo}: {_num(c.bound)} {'met' if c.met else 'NOT met'}" for c in s.checks)
        verdict = "pass" if s.passed else "fail" + (f": {s.saturated}" if s.saturated else "")
        rows.append(
            [
                str(s.number), _num(s.rate_rps), _num(s.completed_rps), _num(s.ttft_p50_ms, ".1f"),
                _num(s.ttft_p99_ms, ".1f"), _num(s.itl_p99_ms, ".1f"), _num(s.ttft_sched_p99_ms, ".1f"), bounds,
                verdict,
            ]
        )  # fmt: skip
    return rows


def knee_sentence(result: SweepResult) -> str:
    confidence = result.plan.get("confidence", 0.95)
    slos = ", ".join(str(s) for s in result.plan.get("slo", []))  # type: ignore[attr-defined]
    why = _STOPPED.get(result.stopped or "", "it has not finished")
    if result.knee_rps is None:
        return f"No knee: no step met every SLO ({slos}) at a {confidence:.0%} one-sided bound; stopped because {why}."
    return (
        f"Knee: {result.knee_rps:.4g} req/s, the highest rate whose {confidence:.0%} one-sided bootstrap bound met "
        f"every SLO ({slos}) below every rate that did not; stopped because {why}."
    )


def write_sweep_reports(result: SweepResult, out: Path) -> None:
    title = f"sweep of {result.endpoint} (model {result.model or 'default'})"
    md = [f"# {title}", "", knee_sentence(result), "", *text_table(HEADER, step_rows(result)), ""]
    (out / "sweep.md").write_text(scrub("\n".join(md)), encoding="utf-8")
    (out / "sweep.html").write_text(scrub(_html(result, title)), encoding="utf-8")


def _html(result: SweepResult, title: str) -> str:
    steps = sorted(result.steps, key=lambda s: s.rate_rps)
    x = [s.rate_rps for s in steps]
    latency = Chart(
        "rate -> latency",
        "offered rate, req/s",
        "ms",
        [
            Series("TTFT p50", x, [s.ttft_p50_ms for s in steps]),
            Series("TTFT p99", x, [s.ttft_p99_ms for s in steps]),
            Series("ITL p99", x, [s.itl_p99_ms for s in steps]),
        ],
        marks=[] if result.knee_rps is None else [(result.knee_rps, "knee")],
        log_x=True,
    )
    rate = Chart(
        "rate -> completed rate",
        "offered rate, req/s",
        "req/s",
        [Series("completed", x, [s.completed_rps for s in steps]), Series("offered", x, x, dashed=True)],
        marks=[] if result.knee_rps is None else [(result.knee_rps, "knee")],
        log_x=True,
    )
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(knee_sentence(result))}</p>"
        f"{latency.render()}{rate.render()}<h2>Steps</h2>{html_table(HEADER, step_rows(result))}"
    )
    return page(title, body, "chaosllm sweep: every step's run directory is under steps/")
