"""Inline SVG charts for the HTML report: no JavaScript library, no CDN, they render offline.

A chart is a ``<figure>`` holding one ``<svg class="chart">`` with axes, ticks, one ``<path>`` per
series, shaded bands (fault windows) and vertical marks (notes); its legend is HTML beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = ["Chart", "Series", "nice_ticks"]

W, H = 860, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 36
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


@dataclass(frozen=True)
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float | None]  # None breaks the line
    color: str = ""
    dashed: bool = False


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)
    bands: list[tuple[float, float, str]] = field(default_factory=list)  # (x0, x1, label)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    log_x: bool = False
    y_min: float | None = 0.0

    def render(self) -> str:
        xs = [x for s in self.series for x, y in zip(s.x, s.y, strict=True) if y is not None]
        ys = [y for s in self.series for y in s.y if y is not None]
        if not xs:
            return f'<figure class="chart empty"><figcaption>{escape(self.title)}: no data</figcaption></figure>'
        xs += [b for band in self.bands for b in band[:2]]
        fx = _scale(xs, LEFT, W - RIGHT, self.log_x)
        y_lo = min(ys) if self.y_min is None else min(self.y_min, min(ys))
        fy = _scale([y_lo, max(ys)], H - BOTTOM, TOP, False)
        parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">']
        parts += [f"<title>{escape(self.title)}</title>"]
        parts += self._bands(fx) + _axes(fx, fy, self.x_label, self.y_label) + self._marks(fx)
        for i, s in enumerate(self.series):
            parts.append(_path(s, fx, fy, s.color or COLORS[i % len(COLORS)]))
        parts.append("</svg>")
        legend = "".join(
            f'<span class="key"><i style="background:{s.color or COLORS[i % len(COLORS)]}"></i>{escape(s.label)}</span>'
            for i, s in enumerate(self.series)
        )
        return (
            f'<figure class="chart"><figcaption>{escape(self.title)}</figcaption>{"".join(parts)}'
            f'<div class="legend">{legend}</div></figure>'
        )

    def _bands(self, fx: _Scale) -> list[str]:
        out = []
        for x0, x1, label in self.bands:
            a, b = fx(x0), fx(x1)
            out.append(
                f'<rect class="fault" x="{a:.1f}" y="{TOP}" width="{max(b - a, 1):.1f}" height="{H - TOP - BOTTOM}">'
                f"<title>{escape(label)}</title></rect>"
            )
        return out

    def _marks(self, fx: _Scale) -> list[str]:
        return [
            f'<line class="mark" x1="{fx(x):.1f}" x2="{fx(x):.1f}" y1="{TOP}" y2="{H - BOTTOM}">'
            f"<title>{escape(label)}</title></line>"
            f'<text class="mark" x="{fx(x) + 3:.1f}" y="{TOP + 10}">{escape(label[:24])}</text>'
            for x, label in self.marks
        ]


class _Scale:
    def __init__(self, lo: float, hi: float, a: float, b: float, log: bool) -> None:
        self.log = log
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
        if self.hi <= self.lo:
            self.hi = self.lo + 1.0
        self.a, self.b = a, b
        self.ticks = nice_ticks(lo, hi, log)

    def __call__(self, v: float) -> float:
        v = math.log10(max(v, 1e-9)) if self.log else v
        return self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)


def _scale(values: Sequence[float], a: float, b: float, log: bool) -> _Scale:
    if log:
        positive = [v for v in values if v > 0] or [1.0]
        return _Scale(min(positive), max(positive), a, b, True)
    return _Scale(min(values), max(values), a, b, False)


def nice_ticks(lo: float, hi: float, log: bool = False, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: 1-2-5 steps, or powers of ten on a log axis."""
    if log:
        return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    span = hi - lo if hi > lo else abs(hi) or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= m * step)
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(math.ceil((hi - first) / step) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"


def _axes(fx: _Scale, fy: _Scale, x_label: str, y_label: str) -> list[str]:
    out = [
        f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}"/>',
    ]
    for t in fx.ticks:
        x = fx(t)
        if LEFT - 0.5 <= x <= W - RIGHT + 0.5:
            out.append(f'<text class="tick" x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">{_fmt(t)}</text>')
    for t in fy.ticks:
        y = fy(t)
        if TOP - 0.5 <= y <= H - BOTTOM + 0.5:
            out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    out.append(
        f'<text class="label" x="{(LEFT + W - RIGHT) / 2}" y="{H - 4}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text class="label" x="12" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(TOP + H - BOTTOM) / 2})">{escape(y_label)}</text>'
    )
    return out


def _path(s: Series, fx: _Scale, fy: _Scale, color: str) -> str:
    d, pen = [], "M"
    for x, y in zip(s.x, s.y, strict=True):
        if y is None or (fx.log and x <= 0):
            pen = "M"
            continue
        d.append(f"{pen}{fx(x):.1f},{fy(y):.1f}")
        pen = "L"
    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
    return f'<path class="series" d="{" ".join(d)}" stroke="{color}"{dash}><title>{escape(s.label)}</title></path>'
