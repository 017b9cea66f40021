"""``junit.xml``: one testcase per hypothesis, so CI dashboards list each SLO by name.

A failed hypothesis is a ``<failure>`` whose message carries the numbers (observed, bound, baseline);
a hypothesis with no data (the load never ran, the phase never happened) is an ``<error>``. One more
testcase, ``run outcome``, is the run itself: a ``<failure>`` when it failed (exit 1), an ``<error>``
typed with its cause when it could not run, could not be trusted or was aborted (exit 2 or 3), never
``<skipped>``: a run whose hypotheses held but whose fault was not removed is not green. The outcome
(verdict, cause, exit code, reasons) is also in the suite's properties and ``<system-out>``.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from chaoslib_ext.secrets import scrub
from chaoslib_ext.verdict.outcome import Outcome
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["render_junit", "write_junit"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"


def render_junit(summary: RunSummary) -> str:
    verdicts = summary.hypotheses
    outcome = summary.outcome
    name = summary.name
    code = outcome.exit_code
    window_s = summary.window[1] - summary.window[0] if summary.window else 0.0
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(verdicts) + 1),
        failures=str(sum(v.status == "fail" for v in verdicts) + (code == 1)),
        errors=str(sum(v.status in ("no-data", "error") for v in verdicts) + (code >= 2)),
        skipped="0",
        time=f"{window_s:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(summary.started_at or 0)),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (("run_id", summary.run_id), ("target", summary.target), ("verdict", outcome.verdict),
                       ("cause", outcome.cause), ("exit_code", code)):  # fmt: skip
        ET.SubElement(props, "property", name=key, value=str(value))
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"chaosllm.{_slug(name)}.{v.phase}", name=v.name, time="0")
        if v.status == "fail":
            ET.SubElement(case, "failure", message=v.message, type="HypothesisFailed").text = v.message
        elif v.status == "no-data":
            ET.SubElement(case, "error", message=v.message, type="NoData").text = v.message
        elif v.status == "error":
            ET.SubElement(case, "error", message=v.message, type="NotMeasurable").text = v.message
        else:
            ET.SubElement(case, "system-out").text = v.message
    lines = [f"outcome: {outcome.verdict}, {outcome.cause} (exit code {code})", *outcome.reasons]
    _run_case(suite, f"chaosllm.{_slug(name)}", outcome, "\n".join(lines))
    ET.SubElement(suite, "system-out").text = "\n".join(lines)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _run_case(suite: ET.Element, classname: str, outcome: Outcome, text: str) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name="run outcome", time="0")
    message = "; ".join(outcome.reasons) or outcome.cause
    if outcome.exit_code == 1:
        ET.SubElement(case, "failure", message=message, type=outcome.cause).text = text
    elif outcome.exit_code >= 2:
        ET.SubElement(case, "error", message=message, type=outcome.cause).text = text
    else:
        ET.SubElement(case, "system-out").text = text


def write_junit(path: Path, summary: RunSummary) -> None:
    path.write_text(scrub(render_junit(summary)), encoding="utf-8")
