"""Chaos Toolkit actions over every fault family (``module: chaoslib_ext.faults.actions``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext.ctk import ActivityResult, Configuration
from chaoslib_ext.exceptions import FaultRemovalError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext

__all__ = ["remove_all_faults"]


def remove_all_faults(configuration: Configuration | None = None) -> ActivityResult:
    """Remove every fault of this run the ledger still lists (the rollback every experiment should have).

    Raises FaultRemovalError naming the faults that could not be removed.
    """
    run = RunContext.from_configuration(configuration)
    removed, failed = lifecycle.sweep(run)
    if failed:
        raise FaultRemovalError(f"faults still in place after retries: {', '.join(failed)}")
    return {"removed": removed}


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "remove_all_faults": lambda raw: Fields(raw, []),
}
