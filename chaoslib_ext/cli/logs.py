"""Logging for one run: concise lines on the terminal, everything in the run directory's log."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chaoslib_ext.secrets import ScrubFilter

__all__ = ["run_logging"]

_LOGGERS = ("chaostoolkit", "chaoslib_ext")


@contextmanager
def run_logging(log_file: Path) -> Iterator[None]:
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s] %(message)s", "%H:%M:%S"))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    file = logging.FileHandler(log_file, encoding="utf-8")
    file.setLevel(logging.DEBUG)
    file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for handler in (console, file):
        handler.addFilter(ScrubFilter())
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
        lg.addHandler(console)
        lg.addHandler(file)
    try:
        yield
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(console)
            lg.removeHandler(file)
            lg.setLevel(level)
            lg.propagate = propagate
        file.close()
