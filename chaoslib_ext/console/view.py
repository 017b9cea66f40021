"""What the game day console draws from a run's ``GET /status``: pure functions, status in, Rich
renderables out (the app only places them; tests read them as text)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["faults_table", "header", "hypotheses_table", "live_line", "log_text", "series_text", "steps_text"]

_BARS = " ▁▂▃▄▅▆▇█"
_PHASE_STYLE = {"baseline": "bold blue", "fault": "bold white on red", "recovery": "bold green"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def header(status: Mapping[str, Any], title: str) -> Text:
    phase = str(status.get("phase", "?"))
    since = status.get("phase_since")
    text = Text.assemble(("game day: ", "bold"), (title, "bold cyan"), "  ")
    text.append(f" {phase.upper()} ", _PHASE_STYLE.get(phase, "bold"))
    if since:
        text.append(f" for {max(0.0, float(status['at']) - float(since)):.0f}s")
    steps = status.get("steps") or {}
    if steps.get("held"):
        text.append("  HELD ", "bold black on yellow")
    if steps.get("approve") == "each":
        text.append("  every step waits for approval", "italic")
    if status.get("aborted"):
        text.append("  ABORTED ", "bold white on red")
    elif status.get("stopped"):
        text.append(f"  STOPPED: {status['stopped']}", "bold red")
    return text


def live_line(status: Mapping[str, Any]) -> Text:
    m = status.get("metrics") or {}
    errors = m.get("error_rate")
    text = Text(f"last {status.get('window_s', 10):g}s of the phase:  ", "dim")
    parts = [
        ("TTFT p50 ", _ms(m.get("ttft_ms.p50"))),
        ("  p99 ", _ms(m.get("ttft_ms.p99"))),
        ("   ITL p99 ", _ms(m.get("itl_ms.p99"))),
        ("   output ", f"{m.get('output_throughput_tps') or 0:,.0f} tok/s"),
        ("   errors ", "-" if errors is None else f"{errors:.1%}"),
        ("   in flight ", "-" if status.get("in_flight") is None else str(status["in_flight"])),
    ]
    for label, value in parts:
        text.append(label)
        style = "bold red" if label.strip() == "errors" and errors else "bold"
        text.append(value, style)
    return text


def hypotheses_table(status: Mapping[str, Any]) -> Table:
    table = Table(title="Hypotheses (live value over the window, against its bound)", expand=True, title_justify="left")
    for column in ("", "hypothesis", "phase", "metric", "expect", "live", "bound"):
        table.add_column(column)
    for h in status.get("hypotheses") or []:
        mark = {True: Text("ok", "green"), False: Text("NOT OK", "bold red"), None: Text("·", "dim")}[h["ok"]]
        live = "-" if h["live"] is None else f"{h['live']:.4g}"
        bound = h["bound"]
        shown = (
            "-"
            if bound is None
            else (f"[{bound[0]:.4g}, {bound[1]:.4g}]" if isinstance(bound, list) else f"{bound:.4g}")
        )
        table.add_row(mark, h["name"], h["phase"], h["metric"], h["expect"], live, shown)
    return table


def faults_table(status: Mapping[str, Any]) -> Table:
    table = Table(title="Faults in force", expand=True, title_justify="left")
    for column in ("fault", "family", "target", "left", "extend"):
        table.add_column(column)
    for f in status.get("faults") or []:
        left = "until rolled back" if f["left_s"] is None else f"{f['left_s']:.0f}s"
        table.add_row(Text(f["id"], "bold red"), f["family"], f["target"], left, f["extend"])
    if not status.get("faults"):
        table.add_row(Text("none", "dim"), "", "", "", "")
    return table


def steps_text(status: Mapping[str, Any]) -> Text:
    steps = status.get("steps") or {}
    text = Text("steps: ", "bold")
    marks = {"done": ("✓ ", "green"), "waiting": ("▶ ", "bold black on yellow"), "ahead": ("· ", "dim")}
    for s in steps.get("steps") or []:
        sign, style = marks.get(s["state"], ("? ", ""))
        text.append(f"{sign}{s['index']}:{s['name']}", style)
        text.append("  ")
    return text


def series_text(status: Mapping[str, Any], width: int = 120) -> Text:
    """TTFT p99 per second (bars scaled to the highest shown), seconds with a fault in force on red."""
    series = status.get("series") or {}
    values: list[float | None] = list(series.get("ttft_p99_ms") or [])[-width:]
    start = int(series.get("start", 0)) + max(0, len(series.get("ttft_p99_ms") or []) - width)
    top = max((v for v in values if v is not None), default=0.0)
    bands = [
        (float(b["from"]), float(b["to"]) if b["to"] is not None else float("inf")) for b in status.get("bands") or []
    ]
    text = Text(f"TTFT p99 per second, last {len(values)}s (max {_ms(top)}; red: a fault in force)\n", "dim")
    for i, v in enumerate(values):
        second = start + i
        bar = " " if v is None or top <= 0 else _BARS[max(1, round(v / top * (len(_BARS) - 1)))]
        faulted = any(a < second + 1 and second < b for a, b in bands)
        text.append(bar, "yellow on dark_red" if faulted else "cyan")
    return text


def log_text(status: Mapping[str, Any], lines: int = 12) -> Text:
    text = Text()
    for e in (status.get("events") or [])[-lines:]:
        style = "bold red" if e["kind"] in ("aborted", "safeguard_tripped", "fault_failed") else ""
        style = "yellow" if e["kind"] in ("note", "observation") else style
        text.append(time.strftime("%H:%M:%S ", time.gmtime(e["at"])), "dim")
        text.append(e["text"] + "\n", style)
    return text
