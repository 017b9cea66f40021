"""``junit.xml``: one testcase per hypothesis, so CI dashboards list each SLO by name.

A failed hypothesis is a ``<failure>`` whose message carries the numbers (observed, bound, baseline);
a hypothesis with no data (the load never ran, the phase never happened) is an ``<error>``. The run's
outcome (verdict, exit code, reasons) is in the suite's properties and ``<system-out>``: an aborted
run whose hypotheses held is still not green for a CI that reads the exit code.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from chaoslib_ext.secrets import scrub

__all__ = ["render_junit", "write_junit"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"


def _seconds(window: dict[str, float] | None) -> float:
    return (window["end_at"] - window["start_at"]) if window else 0.0


def render_junit(summary: dict[str, Any]) -> str:
    verdicts = summary.get("hypotheses") or []
    outcome = summary["outcome"]
    name = summary.get("title") or summary["run_id"]
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(verdicts)),
        failures=str(sum(v["status"] == "fail" for v in verdicts)),
        errors=str(sum(v["status"] not in ("pass", "fail") for v in verdicts)),
        skipped="0",
        time=f"{_seconds(summary.get('window')):.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(summary.get("started_at") or 0)),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (("run_id", summary["run_id"]), ("target", summary.get("target")),
                       ("verdict", outcome["verdict"]), ("exit_code", outcome["exit_code"])):  # fmt: skip
        ET.SubElement(props, "property", name=key, value=str(value))
    for v in verdicts:
        case = ET.SubElement(
            suite, "testcase", classname=f"chaosllm.{_slug(name)}.{v['phase']}", name=v["name"], time="0"
        )
        if v["status"] == "fail":
            ET.SubElement(case, "failure", message=v.get("message") or "", type="HypothesisFailed").text = v.get(
                "message"
            )
        elif v["status"] != "pass":
            ET.SubElement(case, "error", message=v.get("message") or "", type="NoData").text = v.get("message")
        else:
            ET.SubElement(case, "system-out").text = v.get("message") or ""
    lines = [f"outcome: {outcome['verdict']} (exit code {outcome['exit_code']})", *outcome.get("reasons", [])]
    ET.SubElement(suite, "system-out").text = "\n".join(lines)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write_junit(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(scrub(render_junit(summary)), encoding="utf-8")
