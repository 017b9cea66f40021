"""Steady-state hypotheses over phases, and their verdicts."""

from chaoslib_ext.hypotheses.evaluate import Verdict, evaluate
from chaoslib_ext.hypotheses.expect import Expectation, parse_expect
from chaoslib_ext.hypotheses.spec import METRICS, Hypothesis, parse_hypotheses

__all__ = [
    "METRICS",
    "Expectation",
    "Hypothesis",
    "Verdict",
    "evaluate",
    "parse_expect",
    "parse_hypotheses",
]
