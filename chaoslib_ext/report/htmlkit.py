"""The HTML reports' kit: one stylesheet, one table, one page frame (charts are ``svg``). Shared by
``report.html`` and ``compare.html``; nothing here knows what a run is."""

from __future__ import annotations

from html import escape

__all__ = ["CSS", "html_table", "page"]

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#2e7d32}.fail{background:#c62828}.error{background:#6d4c41}.aborted{background:#ef6c00}
td.pass,td.fail,td.error{color:#fff;font-weight:600}
.score{font-size:34px;font-weight:700}.muted{color:#666;font-size:12px}
figure.chart{margin:10px 0}figcaption{font-weight:600;margin-bottom:2px}
svg.chart{background:#fff;border:1px solid #eee;max-width:100%;height:auto}
.axis{stroke:#444}.grid{stroke:#eee}.tick{font-size:10px;fill:#555}.label{font-size:11px;fill:#333}
.series{fill:none;stroke-width:1.6}.fault{fill:#d62728;fill-opacity:.12}
.mark{stroke:#ef6c00;stroke-dasharray:3 3}text.mark{fill:#ef6c00;stroke:none;font-size:10px}
.legend .key{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
"""


def html_table(header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> str:
    """A table of escaped text; ``classes`` gives each cell its class."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cls = classes[r] if classes else [""] * len(row)
        body.append(
            "<tr>" + "".join(f'<td class="{c}">{escape(v)}</td>' for v, c in zip(row, cls, strict=True)) + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str, footer: str) -> str:
    """A self-contained page: inline style, no script, nothing fetched."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}"
        f'<p class="muted">{escape(footer)}</p></body></html>\n'
    )
