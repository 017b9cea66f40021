"""Steady-state hypotheses over phases, and their verdicts."""

from chaoslib_ext.verdict.evaluate import Verdict, evaluate
from chaoslib_ext.verdict.expect import Expectation, parse_expect
from chaoslib_ext.verdict.spec import METRICS, Hypothesis, parse_hypotheses

__all__ = [
    "METRICS",
    "Expectation",
    "Hypothesis",
    "Verdict",
    "evaluate",
    "parse_expect",
    "parse_hypotheses",
]
