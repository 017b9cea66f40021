"""The Chaos Toolkit edge, named (chaoslib's ``types.py`` names its own the same way): the dicts
Chaos Toolkit hands our activities and controls, and what they hand back. Their shape is Chaos
Toolkit's, not ours, so they stay loosely typed here and nowhere else: a grep for these names finds the
edge, and ``disallow_any_explicit`` keeps ``Any`` out of the record behind it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = ["ActivityResult", "Arguments", "Configuration", "Journal", "Secrets"]

#: the experiment's ``configuration`` as Chaos Toolkit resolved it (our run directory and target in it)
Configuration: TypeAlias = dict[str, Any]
#: the experiment's ``secrets`` as Chaos Toolkit resolved them
Secrets: TypeAlias = dict[str, Any]
#: an activity's arguments, as the experiment gave them
Arguments: TypeAlias = dict[str, Any]
#: what an activity returns into the journal
ActivityResult: TypeAlias = dict[str, Any]
#: Chaos Toolkit's journal of a run (``journal.json``): status, steady states, runs, rollbacks
Journal: TypeAlias = Mapping[str, Any]
