"""``chaosllm unlock [--target T]``: release the abort lock (see chaoslib_ext.cli.lock)."""

from __future__ import annotations

from typing import Any

from chaoslib_ext.cli.lock import register_unlock

__all__ = ["register"]


def register(commands: Any) -> None:
    register_unlock(commands)
