"""Typed reads from one raw mapping of an experiment: each bad field raises a SpecError naming it,
its value and the accepted values. Parsers of every spec use this, so messages read alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import SpecError

__all__ = ["REQUIRED", "Fields"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Fields:
    """A mapping whose keys must be among ``allowed``; raises SpecError on the first unknown key."""

    def __init__(self, raw: object, allowed: Sequence[str], where: str = "") -> None:
        if not isinstance(raw, Mapping):
            raise SpecError(where, f"expected a mapping, got {_kind(raw)}")
        for key in raw:
            if key not in allowed:
                raise SpecError(_join(where, str(key)), f"unknown field {key!r}", ", ".join(allowed))
        self.raw: Mapping[str, Any] = raw
        self.where = where

    def has(self, name: str) -> bool:
        return name in self.raw

    def _value(self, name: str, default: Any) -> Any:
        if name in self.raw:
            return self.raw[name]
        if default is REQUIRED:
            raise SpecError(self._at(name), "is required")
        return default

    def _at(self, name: str) -> str:
        return _join(self.where, name)

    def string(self, name: str, default: Any = REQUIRED, choices: Sequence[str] | None = None) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise SpecError(
                self._at(name), f"expected a string, got {_kind(value)}", ", ".join(choices) if choices else None
            )
        if choices is not None and value not in choices:
            raise SpecError(self._at(name), f"unknown value {value!r}", ", ".join(choices))
        return value

    def integer(
        self, name: str, default: Any = REQUIRED, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(self._at(name), f"expected an integer, got {_kind(value)}", _range(minimum, maximum))
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SpecError(self._at(name), f"{value} is out of range", _range(minimum, maximum))
        return value

    def number(
        self, name: str, default: Any = REQUIRED, minimum: float | None = None, maximum: float | None = None
    ) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(self._at(name), f"expected a number, got {_kind(value)}", _range(minimum, maximum))
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SpecError(self._at(name), f"{value} is out of range", _range(minimum, maximum))
        return float(value)

    def boolean(self, name: str, default: Any = REQUIRED) -> Any:
        value = self._value(name, default)
        if not isinstance(value, bool):
            raise SpecError(self._at(name), f"expected true or false, got {_kind(value)}", "true, false")
        return value

    def duration(self, name: str, default: Any = REQUIRED, *, positive: bool = False) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if value is default and not isinstance(default, str):
            return default
        return parse_duration(value, self._at(name), allow_zero=not positive)

    def mapping(self, name: str, default: Any = REQUIRED) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if not isinstance(value, Mapping):
            raise SpecError(self._at(name), f"expected a mapping, got {_kind(value)}")
        return value

    def sequence(self, name: str, default: Any = REQUIRED) -> Any:
        value = self._value(name, default)
        if value is None and default is None:
            return None
        if not isinstance(value, list):
            raise SpecError(self._at(name), f"expected a list, got {_kind(value)}")
        return value


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _range(minimum: float | None, maximum: float | None) -> str | None:
    if minimum is None and maximum is None:
        return None
    if maximum is None:
        return f">= {minimum:g}"
    if minimum is None:
        return f"<= {maximum:g}"
    return f"{minimum:g} to {maximum:g}"


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__) + (f" {value!r}" if isinstance(value, bool | int | float | str) else "")
