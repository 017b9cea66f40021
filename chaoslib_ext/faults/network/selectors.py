"""Chaos Mesh pod selectors and modes: which pods a fault touches, checked as Chaos Mesh checks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["MODES", "SELECTOR_KEYS", "PodTarget", "parse_mode", "parse_selector"]

MODES = ("one", "all", "fixed", "fixed-percent", "random-max-percent")
_MAP_KEYS = ("labelSelectors", "annotationSelectors", "fieldSelectors", "nodeSelectors")
_LIST_KEYS = ("namespaces", "nodes", "podPhaseSelectors")
SELECTOR_KEYS = (
    "namespaces",
    "labelSelectors",
    "annotationSelectors",
    "fieldSelectors",
    "expressionSelectors",
    "nodeSelectors",
    "nodes",
    "pods",
    "podPhaseSelectors",
)


def parse_mode(mode: object, value: object, mode_field: str, value_field: str) -> tuple[str, str | None]:
    """(mode, value) as Chaos Mesh's webhook accepts them: ``fixed`` needs an integer > 0, the percent
    modes one in (0, 100]; ``one`` and ``all`` take none."""
    if mode not in MODES:
        raise SpecError(mode_field, f"unknown mode {mode!r}", ", ".join(MODES))
    if mode in ("one", "all"):
        return str(mode), None
    if value is None:
        raise SpecError(
            value_field,
            f"mode {mode!r} needs a value",
            "an integer > 0" if mode == "fixed" else "an integer from 1 to 100",
        )
    text = str(value).strip()
    if isinstance(value, bool) or not text.lstrip("-").isdigit():
        raise SpecError(
            value_field,
            f"{value!r} is not an integer",
            "an integer > 0" if mode == "fixed" else "an integer from 1 to 100",
        )
    number = int(text)
    if mode == "fixed" and number <= 0:
        raise SpecError(value_field, f"value {number} must be greater than 0 with mode fixed", "an integer > 0")
    if mode != "fixed" and not 0 < number <= 100:
        raise SpecError(value_field, f"value {number} is invalid with mode {mode}", "an integer from 1 to 100")
    return str(mode), str(number)


def parse_selector(raw: object, where: str) -> dict[str, Any]:
    """A Chaos Mesh PodSelectorSpec; unknown keys and wrongly typed values raise SpecError."""
    f = Fields(raw, SELECTOR_KEYS, where)
    out: dict[str, Any] = {}
    for key in _LIST_KEYS:
        if f.has(key):
            items = f.sequence(key)
            if not all(isinstance(i, str) and i for i in items):
                raise SpecError(f"{where}.{key}", "expected a list of names")
            out[key] = list(items)
    for key in _MAP_KEYS:
        if f.has(key):
            mapping = f.mapping(key)
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
                raise SpecError(f"{where}.{key}", "expected a mapping of strings to strings (quote numbers)")
            out[key] = dict(mapping)
    if f.has("pods"):
        pods = f.mapping("pods")
        if not all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in pods.values()):
            raise SpecError(f"{where}.pods", "expected namespace: [pod names]")
        out["pods"] = {str(k): list(v) for k, v in pods.items()}
    if f.has("expressionSelectors"):
        exprs = []
        for i, item in enumerate(f.sequence("expressionSelectors")):
            e = Fields(item, ["key", "operator", "values"], f"{where}.expressionSelectors[{i}]")
            expr: dict[str, Any] = {
                "key": e.string("key"),
                "operator": e.string("operator", choices=("In", "NotIn", "Exists", "DoesNotExist")),
            }
            if e.has("values"):
                expr["values"] = [str(v) for v in e.sequence("values")]
            exprs.append(expr)
        out["expressionSelectors"] = exprs
    if not out:
        raise SpecError(where, "selects nothing", ", ".join(SELECTOR_KEYS))
    return out


@dataclass(frozen=True)
class PodTarget:
    """NetworkChaos ``target``: the peer pods, with their own mode and value."""

    selector: dict[str, Any]
    mode: str = "all"
    value: str | None = None

    @classmethod
    def parse(cls, raw: object, where: str) -> PodTarget:
        f = Fields(raw, ["selector", "mode", "value"], where)
        if not f.has("selector"):
            raise SpecError(f"{where}.selector", "is required", ", ".join(SELECTOR_KEYS))
        mode, value = parse_mode(f.raw.get("mode", "all"), f.raw.get("value"), f"{where}.mode", f"{where}.value")
        return cls(parse_selector(f.raw["selector"], f"{where}.selector"), mode, value)

    def to_chaos_mesh(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "selector": self.selector}
        if self.value is not None:
            out["value"] = self.value
        return out

    @staticmethod
    def namespaces(selector: Mapping[str, Any]) -> list[str]:
        return list(selector.get("namespaces") or []) + list((selector.get("pods") or {}).keys())
