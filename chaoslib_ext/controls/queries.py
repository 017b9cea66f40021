"""The prometheus hypotheses' values, fetched once the run ended (the phases are known then): each query
over each phase it is judged in (its own, and the phase an expectation refers to), aggregated into one
number (chaoslib_ext.promql), kept in ``<run>/prometheus.json`` so the verdict can be computed again
from the run directory alone (``chaosllm report``)::

    {"<hypothesis>": {"fault": 0.734, "baseline": {"error": "... gave no data between ..."}}}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from chaoslib_ext._jsonfile import JsonObject, write_json_atomic
from chaoslib_ext.exceptions import ProbeError
from chaoslib_ext.metrics import phase_windows
from chaoslib_ext.promql import aggregate, range_values
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.verdict.spec import Hypothesis

__all__ = ["fetch_queries"]

log = logging.getLogger("chaoslib_ext")


def fetch_queries(run: RunContext, hypotheses: Sequence[Hypothesis]) -> None:
    """Query Prometheus for every prometheus hypothesis; nothing written when there is none."""
    asked = [h for h in hypotheses if h.prometheus is not None]
    window = run.timeline.measure_window()
    if not asked:
        return
    windows = phase_windows(window[0], window[1], run.timeline.fault_intervals()) if window else {}
    found: JsonObject = {}
    for h in asked:
        assert h.prometheus is not None
        values: JsonObject = {}
        for phase in dict.fromkeys(p for p in (h.phase, h.expect.reference) if p is not None):
            if phase not in windows:
                values[phase] = {"error": f"the run has no {phase} phase"}
                continue
            try:
                values[phase] = aggregate(range_values(h.prometheus, windows[phase].intervals), h.prometheus.aggregate)
            except ProbeError as exc:
                log.warning("hypothesis %r: %s", h.name, exc)
                values[phase] = {"error": str(exc)}
        found[h.name] = values
    write_json_atomic(run.run_dir.queries, found)
