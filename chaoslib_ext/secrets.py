"""Secret values never leave the process in clear: not in the run directory, the report, the logs.

The values come from the experiment's ``secrets`` block once Chaos Toolkit resolved it (env, inline)
and from the secrets of ``--var-file``. They are registered for the process; every JSON file of a
run (``jsonfile.write_json_atomic``), the journal, the Markdown report and every log line of our
handlers pass through ``scrub``. The load generator gets header values through its environment,
never through a file. Values shorter than ``MIN_LENGTH`` characters are not registered: scrubbing
them would shred ordinary text (a secret that short is not one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MIN_LENGTH", "REDACTED", "ScrubFilter", "guard", "leaf_values", "register", "scrub", "scrub_data"]

REDACTED = "***"
MIN_LENGTH = 4
_values: set[str] = set()


def leaf_values(data: Any) -> Iterable[str]:
    """Every string (or number) at the leaves of a resolved secrets mapping."""
    if isinstance(data, Mapping):
        for value in data.values():
            yield from leaf_values(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from leaf_values(value)
    elif isinstance(data, str | int | float) and not isinstance(data, bool):
        yield str(data)


def register(values: Iterable[str]) -> None:
    _values.update(v for v in values if len(v) >= MIN_LENGTH)


def guard(values: Iterable[str], *loggers: logging.Logger) -> None:
    """Register ``values``, and scrub every handler of the root logger and of ``loggers``."""
    register(values)
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(ScrubFilter())


def scrub(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):  # a secret containing another goes first
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub_data(data: Any) -> Any:
    """``data`` with every registered value replaced in every string, keys included."""
    if not _values:
        return data
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, Mapping):
        return {scrub_data(k): scrub_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [scrub_data(v) for v in data]
    return data


class ScrubFilter(logging.Filter):
    """Rewrites a record's message (arguments formatted in) and its traceback text without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _values:
            record.msg = scrub(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True
