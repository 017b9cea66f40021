"""``report.md`` (for a pull request or a chat message) and the same tables for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoslib_ext.metrics import PHASES
from chaoslib_ext.metrics.record import PhaseMetrics
from chaoslib_ext.secrets import scrub

__all__ = [
    "host_lines",
    "phase_rows",
    "phase_table",
    "render_markdown",
    "text_table",
    "verdict_rows",
    "verdict_table",
    "write_markdown",
]

#: (column title, metric path, number format)
_COLUMNS = (
    ("requests", "requests", "{:.0f}"),
    ("errors", "error_rate", "{:.1%}"),
    ("TTFT p50 ms", "ttft_ms.p50", "{:.1f}"),
    ("TTFT p99 ms", "ttft_ms.p99", "{:.1f}"),
    ("ITL p50 ms", "itl_ms.p50", "{:.1f}"),
    ("ITL p99 ms", "itl_ms.p99", "{:.1f}"),
    ("TTFT jitter ms", "ttft_jitter_ms", "{:.1f}"),
    ("ITL jitter ms", "itl_jitter_ms", "{:.1f}"),
    ("req/s", "request_throughput_rps", "{:.2f}"),
    ("tok/s", "output_throughput_tps", "{:.1f}"),
    ("seconds", "duration_s", "{:.1f}"),
)
_MARK = {"pass": "PASS", "fail": "FAIL", "no-data": "NO DATA"}


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def phase_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    phases = summary.get("phases") or {}
    shown = [p for p in PHASES if p in phases and (phases[p].get("duration_s") or 0) > 0]
    typed = {p: PhaseMetrics.from_json(phases[p]) for p in shown}
    rows = [[p] + [_cell(typed[p].value(path), fmt) for _, path, fmt in _COLUMNS] for p in shown]
    return ["phase", *(title for title, _, _ in _COLUMNS)], rows


def phase_table(summary: dict[str, Any]) -> list[str]:
    return text_table(*phase_rows(summary))


def verdict_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows = []
    for v in summary.get("hypotheses") or []:
        observed = "-" if v.get("observed") is None else f"{v['observed']:.4g}"
        bound = v.get("bound")
        bound_text = (
            "-"
            if bound is None
            else (f"[{bound[0]:.4g}, {bound[1]:.4g}]" if isinstance(bound, list) else f"{bound:.4g}")
        )
        rows.append(
            [_MARK.get(v["status"], v["status"]), v["name"], v["phase"], v["metric"], v["expect"], observed, bound_text]
        )
    return ["verdict", "hypothesis", "phase", "metric", "expect", "observed", "bound"], rows


def verdict_table(summary: dict[str, Any]) -> list[str]:
    return text_table(*verdict_rows(summary))


def render_markdown(summary: dict[str, Any]) -> str:
    outcome = summary["outcome"]
    lines = [
        f"# {summary.get('title') or summary['run_id']}",
        "",
        f"**Outcome: {outcome['verdict'].upper()}**, `{outcome['cause']}` (exit code {outcome['exit_code']})"
        f" — run `{summary['run_id']}`,"
        f" target `{summary.get('target')}`",
        "",
    ]
    lines += [f"- {reason}" for reason in outcome.get("reasons") or []]
    score = (summary.get("resilience") or {}).get("score")
    if score is not None:
        lines += ["", f"Resilience score: **{score:.1f}** / 100 (formula in report.html)."]
    if summary.get("hypotheses"):
        lines += ["", "## Hypotheses", "", *verdict_table(summary)]
    if summary.get("phases"):
        lines += [
            "",
            "## Metrics per phase",
            "",
            *phase_table(summary),
            "",
            "Percentiles are exact (linear interpolation on raw samples); jitter = P99 - P50.",
        ]
    if summary.get("faults"):
        lines += ["", "## Faults", ""]
        for f in summary["faults"]:
            held = ""
            if f.get("injected_at") and f.get("removed_at"):
                held = f", held {f['removed_at'] - f['injected_at']:.1f}s"
            lines.append(f"- `{f['id']}` ({f['family']}) on {f['target']}: {f['state']}{held}")
    overhead = summary.get("client_overhead_ms")
    if overhead:
        lines += [
            "",
            f"Client overhead on TTFT (client minus server-reported): p50 {overhead['p50']:.2f} ms,"
            f" p99 {overhead['p99']:.2f} ms over {overhead['count']} requests.",
        ]
    host = host_lines(summary)
    if host:
        lines += ["", *host]
    return "\n".join(lines) + "\n"


def host_lines(summary: dict[str, Any]) -> list[str]:
    """The load generator's CPU per phase, and a warning when the hypervisor starved it."""
    host = summary.get("load_host")
    if not host:
        return []
    parts, starved = [], 0.0
    for phase in PHASES:
        h = (host.get("phases") or {}).get(phase)
        if h and phase != "overall":
            parts.append(
                f"{phase} busy {h['busy_mean']:.0%}, steal {h['steal_mean']:.1%} (worst second {h['steal_max']:.0%})"
            )
            starved += h["starved_seconds"]
    if not parts:
        return []
    lines = ["Load generator's CPU (this host, /proc/stat each second): " + "; ".join(parts) + "."]
    if starved:
        lines.append(
            f"Warning: {starved:g} s with the hypervisor stealing {host['starved_steal']:.0%} or more of this "
            "host's CPU; latencies of requests in flight then measure this host, not the target."
        )
    return lines


def write_markdown(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(scrub(render_markdown(summary)), encoding="utf-8")
