"""The token lengths a phase served, and how close they came to those its workload asked for.

By request start, successful requests only: ``input_tokens`` is what the server counted
(``usage.prompt_tokens``), ``output_tokens`` what it generated (``usage.completion_tokens``, else the
content events). Against a workload's requested lengths: ``input_overhead_tokens`` is the median of
served minus requested input (the chat template's tokens, a beginning-of-sequence token: the same for
every request), ``input_error`` the median of |served - overhead - requested| / requested, and
``output_error`` the median of |served - requested| / requested.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chaoslib_ext.metrics.record import LengthMetrics
from chaoslib_ext.metrics.stats import distribution
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.table import SampleTable

__all__ = ["length_metrics"]


def length_metrics(table: SampleTable, window: Window) -> LengthMetrics | None:
    """None when no request of the run has a served prompt length or a requested length."""
    known = (table.in_tokens >= 0) | (table.want_in >= 0) | (table.want_out >= 0)
    if not known.any():
        return None
    use = window.requests(table.start_at, table.end_at) & table.ok
    served_in = table.in_tokens[use & (table.in_tokens >= 0)].astype(np.float64)
    asked = use & (table.want_in > 0) & (table.in_tokens >= 0)
    extra = table.in_tokens[asked].astype(np.float64) - table.want_in[asked]
    overhead = float(np.median(extra)) if extra.size else None
    input_error = _median(np.abs(extra - (overhead or 0.0)) / table.want_in[asked]) if extra.size else None
    out_asked = use & (table.want_out > 0)
    output_error = _median(np.abs(table.tokens[out_asked] - table.want_out[out_asked]) / table.want_out[out_asked])
    return LengthMetrics(
        input_tokens=distribution(served_in),
        requested_input_tokens=distribution(table.want_in[use & (table.want_in > 0)].astype(np.float64)),
        input_overhead_tokens=overhead,
        input_error=input_error,
        output_tokens=distribution(table.tokens[use]),
        requested_output_tokens=distribution(table.want_out[out_asked].astype(np.float64)),
        output_error=output_error,
    )


def _median(values: npt.NDArray[np.float64]) -> float | None:
    return float(np.median(values)) if values.size else None
