"""Chaos Toolkit actions on the load (``module: chaoslib_ext.load.actions``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext

__all__ = ["observe"]


def _parse_observe(raw: Mapping[str, Any]) -> tuple[float, str]:
    f = Fields(raw, ["duration", "label"])
    return f.duration("duration", positive=True), f.string("label", "observe")


def observe(duration: str, label: str = "observe", configuration: Configuration | None = None) -> ActivityResult:
    """Let the load run for ``duration`` with nothing injected, marking the window in the timeline."""
    try:
        seconds = parse_duration(duration, "duration", allow_zero=False)
    except SpecError as exc:
        raise ChaosLLMError(str(exc)) from exc
    run = RunContext.from_configuration(configuration)
    event = run.timeline.record_window(label, seconds)
    completed = run.wait(seconds, advance=True)  # cut short when the run stops, or by a game day's "next"
    return {"label": label, "from": event["at"], "to": time.time(), "completed": completed}


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {"observe": _parse_observe}
