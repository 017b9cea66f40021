"""The chaosllm part of an experiment, parsed once into values: the load and the phase hypotheses.

It lives in Chaos Toolkit's ``extensions`` list, so the file stays a valid Chaos Toolkit experiment::

    extensions:
      - name: chaosllm
        load: {...}          # chaoslib_ext.load.spec
        hypotheses: [...]    # chaoslib_ext.verdict.spec
        safeguards: {...}    # chaoslib_ext.safeguards.spec
        deadline: 1h         # the whole run, default 1h: past it the run is stopped (exit 3)
        compare: {...}       # chaoslib_ext.compare.spec: the sides chaosllm bench alternates
        sweep: {...}         # chaoslib_ext.sweep.spec: what chaosllm sweep --experiment steps and checks
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.compare.spec import CompareSpec
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.experiment.variables import configuration_values, substitute
from chaoslib_ext.fields import Fields
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.safeguards.spec import Safeguards
from chaoslib_ext.sweep.spec import SweepPlan
from chaoslib_ext.verdict.spec import Hypothesis, parse_hypotheses

__all__ = ["DEFAULT_DEADLINE_S", "EXTENSION_NAME", "Plan"]

EXTENSION_NAME = "chaosllm"
DEFAULT_DEADLINE_S = 3600.0


@dataclass(frozen=True)
class Plan:
    load: LoadSpec | None
    hypotheses: tuple[Hypothesis, ...]
    safeguards: Safeguards | None = None
    deadline_s: float = DEFAULT_DEADLINE_S
    compare: CompareSpec | None = None
    sweep: SweepPlan | None = None

    @classmethod
    def from_experiment(cls, experiment: Mapping[str, Any], variables: Mapping[str, Any] | None = None) -> Plan:
        """Parse the chaosllm extension, ``${name}`` replaced from ``variables`` (default: the experiment's
        configuration); no extension means no load and no hypotheses. Raises SpecError with its path."""
        extensions = experiment.get("extensions") or []
        if not isinstance(extensions, list):
            raise SpecError("extensions", "expected a list")
        found = [(i, e) for i, e in enumerate(extensions) if isinstance(e, Mapping) and e.get("name") == EXTENSION_NAME]
        if not found:
            return cls(None, ())
        if len(found) > 1:
            raise SpecError(f"extensions[{found[1][0]}]", f"a second {EXTENSION_NAME!r} extension")
        index, raw = found[0]
        raw = substitute(raw, configuration_values(experiment) if variables is None else variables)
        where = f"extensions[{index}]"
        f = Fields(raw, ["name", "load", "hypotheses", "safeguards", "deadline", "compare", "sweep"], where)
        load = LoadSpec.parse(f.raw["load"], f"{where}.load") if f.has("load") else None
        hypotheses = parse_hypotheses(f.raw["hypotheses"], f"{where}.hypotheses") if f.has("hypotheses") else []
        if hypotheses and load is None:
            raise SpecError(f"{where}.hypotheses", "hypotheses need a load block to measure them")
        safeguards = Safeguards.parse(f.raw["safeguards"], f"{where}.safeguards") if f.has("safeguards") else None
        if safeguards is not None and safeguards.needs_load and load is None:
            raise SpecError(f"{where}.safeguards", "a metric condition needs a load block to measure it")
        deadline_s = f.duration("deadline", DEFAULT_DEADLINE_S, positive=True)
        compare = CompareSpec.parse(f.raw["compare"], f"{where}.compare") if f.has("compare") else None
        sweep = SweepPlan.parse(f.raw["sweep"], f"{where}.sweep") if f.has("sweep") else None
        if sweep is not None and load is None:
            raise SpecError(f"{where}.sweep", "a sweep needs a load block to step")
        return cls(load, tuple(hypotheses), safeguards, deadline_s, compare, sweep)
