"""Load an experiment file safely, remembering where every value came from.

YAML (or JSON, a subset) is composed with PyYAML's safe loader, so no tag can build an object; the
file size and the number of nodes after alias expansion are bounded (no "billion laughs"); duplicate
keys are errors instead of silent overwrites. Every error is a ``Problem`` at ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.exceptions import ExperimentInvalid, Problem

__all__ = ["MAX_BYTES", "MAX_NODES", "Path_", "Source", "format_path", "load_source", "parse_path"]

#: libyaml's safe loader when PyYAML was built with it (10x faster), else the pure-Python one: both safe.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000

#: A path to a value: keys and list indices from the document root.
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    """A parsed document and the (line, col) of each value (1-based), by path."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]]

    def locate(self, path: Path_) -> tuple[int, int]:
        """Where ``path`` is, or its nearest existing ancestor."""
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def problem(self, path: Path_, message: str) -> Problem:
        line, col = self.locate(path)
        return Problem(self.file, line, col, message)


def parse_path(text: str) -> Path_:
    """``extensions[0].load.users`` -> ("extensions", 0, "load", "users")."""
    out: list[str | int] = []
    for part in text.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)


def format_path(path: Path_) -> str:
    """("extensions", 0, "load", "users") -> ``extensions[0].load.users`` (the inverse of parse_path)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_JSON_SCALARS = (str, int, float, bool, type(None))
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.nodes = 0
        self.problems: list[Problem] = []
        self._scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBigError(node)
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.CollectionNode) and node.tag not in _COLLECTION_TAGS:
            self._problem(node, f"unsupported tag {node.tag!r}: experiments hold plain mappings, lists and scalars")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str):
                    self._problem(key_node, f"mapping keys must be strings, got {key!r}: quote it")
                    continue
                if key in out:
                    self._problem(key_node, f"duplicate key {key!r}")
                    continue
                out[key] = self.build(value_node, (*path, key))
            self.marks.pop((*path, "<key>"), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self._scalars.construct_object(node, deep=True)
        if not isinstance(value, _JSON_SCALARS):
            self._problem(node, f"unsupported value of type {type(value).__name__}: quote it to make it a string")
            return None
        return value

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1, message))


class _TooBigError(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), 1-based, of a character offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def load_source(path: Path) -> Source:
    """Parse ``path``; raises ExperimentInvalid with located problems (never a traceback)."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExperimentInvalid([Problem(file, 1, 1, f"cannot read the experiment: {exc.strerror}")]) from exc
    if len(raw) > MAX_BYTES:
        raise ExperimentInvalid([Problem(file, 1, 1, f"file is {len(raw)} bytes; the limit is {MAX_BYTES}")])
    try:
        text = raw.decode("utf-8")
        node = yaml.compose(text, Loader=_LOADER)
    except UnicodeDecodeError as exc:
        raise ExperimentInvalid([Problem(file, 1, 1, f"file is not UTF-8: {exc.reason}")]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ExperimentInvalid([Problem(file, line, col, f"YAML syntax: {exc.problem}")]) from exc
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        what = f"character {chr(exc.character)!r}" if isinstance(exc.character, int) else "a character"
        raise ExperimentInvalid([Problem(file, line, col, f"YAML: {what} is not allowed ({exc.reason})")]) from exc
    except yaml.YAMLError as exc:
        raise ExperimentInvalid([Problem(file, 1, 1, f"YAML: {exc}")]) from exc
    if node is None:
        raise ExperimentInvalid([Problem(file, 1, 1, "the file is empty")])
    builder = _Builder(file)
    try:
        data = builder.build(node, ())
    except _TooBigError as big:
        mark = big.node.start_mark
        raise ExperimentInvalid(
            [Problem(file, mark.line + 1, mark.column + 1, f"more than {MAX_NODES} values after alias expansion")]
        ) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ExperimentInvalid([Problem(file, line, col, f"YAML: {exc.problem}")]) from exc
    if builder.problems:
        raise ExperimentInvalid(builder.problems)
    if not isinstance(data, dict):
        raise ExperimentInvalid([Problem(file, 1, 1, "an experiment must be a mapping at the top level")])
    return Source(file, data, builder.marks)
