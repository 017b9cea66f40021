"""The gap index answers exactly what numpy answers on the same gaps, in any window, with any chunking."""

from __future__ import annotations

import numpy as np
import pytest

from chaoslib_ext.metrics import Window
from chaoslib_ext.metrics.gaps import GapIndex
from chaoslib_ext.samples import Sample
from chaoslib_ext.samples import table as table_module
from chaoslib_ext.samples.table import SampleTable


def table_of(gaps_per_request: list[list[float]], start: float = 100.0) -> SampleTable:
    return SampleTable.from_samples(
        Sample(start + i * 0.05, 10.0, tuple(g), len(g) + 1, len(g) + 1, 200, None, 10.0 + sum(g))
        for i, g in enumerate(gaps_per_request)
    )


def numpy_answer(table: SampleTable, window: Window) -> dict:
    gaps = np.concatenate([c.gap_ms[window.contains(c.gap_end_at)] for c in table.token_chunks()])
    p50, p90, p95, p99 = np.percentile(gaps, [50, 90, 95, 99])
    return {"count": gaps.size, "mean": gaps.mean(), "min": gaps.min(), "p50": p50, "p90": p90, "p95": p95,
            "p99": p99, "max": gaps.max()}  # fmt: skip


@pytest.mark.parametrize("chunk", [3, 16_384])
def test_exact_percentiles_in_every_window(monkeypatch, chunk):
    monkeypatch.setattr(table_module, "CHUNK_REQUESTS", chunk)
    rng = np.random.default_rng(3)
    gaps = [list(np.round(rng.lognormal(2.5, 0.6, rng.integers(0, 30)), 3)) for _ in range(400)]
    gaps[7] = [12.0] * 25  # ties
    gaps[9] = [0.0, 0.0, 1e-3]  # zeros and a tiny value
    table = table_of(gaps)
    windows = [Window(((100.0, 120.0),)), Window(((103.0, 105.5),)), Window(((101.0, 102.0), (110.0, 115.0)))]
    index = GapIndex(table, windows)
    for window in windows:
        assert index.distribution(window).to_json() == pytest.approx(numpy_answer(table, window), rel=1e-12)
    other = Window(((104.0, 104.3),))  # not indexed up front: answered by a pass of its own
    assert GapIndex(table, [other]).distribution(other).to_json() == pytest.approx(
        numpy_answer(table, other), rel=1e-12
    )


def test_a_window_with_one_gap_or_none():
    table = table_of([[5.0]])
    one = Window(((100.0, 101.0),))
    assert GapIndex(table, [one]).distribution(one).to_json() == {
        "count": 1, "mean": 5.0, "min": 5.0, "p50": 5.0, "p90": 5.0, "p95": 5.0, "p99": 5.0, "max": 5.0,
    }  # fmt: skip
    empty = Window(((200.0, 201.0),))
    assert GapIndex(table, [empty]).distribution(empty).p99 is None


def test_plotting_quantiles_are_within_a_bin_of_the_exact_ones():
    rng = np.random.default_rng(5)
    table = table_of([list(rng.gamma(16, 0.75, 31)) for _ in range(2000)])
    window = Window(((0.0, 1e4),))
    levels = [1, 10, 50, 90, 99]
    approx = GapIndex(table, [window]).quantiles(window, levels)
    exact = np.percentile(np.concatenate([c.gap_ms for c in table.token_chunks()]), levels)
    assert approx == pytest.approx(list(exact), rel=0.008)
