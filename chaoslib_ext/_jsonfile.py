"""JSON files that readers never see half-written: write to a sibling, then rename over."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeAlias

from chaoslib_ext.secrets import scrub_data

__all__ = ["JsonObject", "JsonValue", "read_json", "write_json_atomic"]

#: a value JSON can hold, and an object of them: for data whose shape the reader does not rely on
JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as indented JSON in one rename, registered secrets scrubbed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(scrub_data(data), out, indent=2, sort_keys=False, default=str)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as src:
        return json.load(src)
