"""Our block of an experiment checked against its published JSON schema
(``chaoslib_ext/experiment/schemas/chaosllm-extension.schema.json``): every error, each at its
``file:line:col`` with the field and the accepted values. The typed parsers check meaning after it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from chaoslib_ext.exceptions import Problem
from chaoslib_ext.experiment.loader import Path_, Source

__all__ = ["SCHEMA_FILE", "extension_problems"]

SCHEMA_FILE = Path(__file__).parent / "schemas" / "chaosllm-extension.schema.json"


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def extension_problems(source: Source, index: int, extension: Any) -> list[Problem]:
    """Schema errors of ``extension`` (already ``${var}``-substituted), found at ``extensions[index]``."""
    out = []
    for error in _leaves(list(_validator().iter_errors(extension))):
        path: Path_ = ("extensions", index, *error.absolute_path)
        out.append(source.problem(path, f"{_dotted(path)}: {_message(error)}"))
    return sorted(out, key=lambda p: (p.line, p.col))


def _leaves(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """For a oneOf/anyOf, the most specific reason instead of 'is not valid under any of the given schemas'."""
    for error in errors:
        if error.context and error.validator not in ("oneOf", "anyOf"):
            yield from _leaves(list(error.context))
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
    if kind == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
