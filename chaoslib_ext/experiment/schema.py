"""JSON schemas of an experiment, published in ``chaoslib_ext/experiment/schemas/``: every error,
each at its ``file:line:col`` with the field and the accepted values.

- ``experiment-structure.schema.json``: the shape of a Chaos Toolkit experiment (Chaos Toolkit's own
  validator crashes with TypeError/AttributeError on some malformed shapes instead of reporting them);
- ``chaosllm-extension.schema.json``: our block; the typed parsers check its meaning after it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from chaoslib_ext.exceptions import Problem
from chaoslib_ext.experiment.loader import Path_, Source, format_path

__all__ = ["SCHEMA_FILE", "STRUCTURE_FILE", "extension_problems", "structure_problems"]

SCHEMAS = Path(__file__).parent / "schemas"
SCHEMA_FILE = SCHEMAS / "chaosllm-extension.schema.json"
STRUCTURE_FILE = SCHEMAS / "experiment-structure.schema.json"


@cache
def _validator(file: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(file.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def structure_problems(source: Source) -> list[Problem]:
    """Errors in the shape of the whole experiment."""
    return _problems(source, STRUCTURE_FILE, source.data, ())


def extension_problems(source: Source, index: int, extension: Any) -> list[Problem]:
    """Schema errors of ``extension`` (already ``${var}``-substituted), found at ``extensions[index]``."""
    return _problems(source, SCHEMA_FILE, extension, ("extensions", index))


def _problems(source: Source, schema: Path, data: Any, prefix: Path_) -> list[Problem]:
    out = []
    for error in _leaves(list(_validator(schema).iter_errors(data))):
        path: Path_ = (*prefix, *error.absolute_path)
        if error.validator == "required":  # one problem per missing field, named by its own path
            instance: Any = error.instance
            required: Any = error.validator_value
            for name in [r for r in required if r not in instance]:
                out.append(source.problem(path, f"{format_path((*path, name))}: is required"))
            continue
        out.append(source.problem(path, f"{format_path(path)}: {_message(error)}"))
    return sorted(dict.fromkeys(out), key=lambda p: (p.line, p.col))  # one per missing field, in file order


def _leaves(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """For a oneOf/anyOf, its accepted values when the schema states them (``x-accepted``), else the
    most relevant reason among its branches, instead of 'is not valid under any of the given schemas'."""
    for error in errors:
        stated = isinstance(error.schema, Mapping) and "x-accepted" in error.schema
        if error.validator in ("oneOf", "anyOf") and error.context and not stated:
            best = jsonschema.exceptions.best_match(error.context)
            yield from _leaves([best] if best is not None else [])
        else:
            yield error


def _message(error: jsonschema.ValidationError) -> str:
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind == "additionalProperties":
        instance: Any = error.instance
        unknown = sorted(set(instance) - set(schema.get("properties", {})))
        return f"unknown field {', '.join(map(repr, unknown))} (accepted: {', '.join(schema.get('properties', {}))})"
    if kind == "enum":
        return f"unknown value {error.instance!r} (accepted: {', '.join(map(str, schema['enum']))})"
    if kind in ("oneOf", "anyOf"):
        accepted = schema.get("x-accepted") or schema.get("description") or "see the schema"
        return f"{error.instance!r} is not accepted (accepted: {accepted})"
    return error.message
