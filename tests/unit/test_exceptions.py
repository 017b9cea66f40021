"""The exception tree is closed: every error class lives in ``exceptions.py``, is drawn in its tree and
says when it is raised (httpx's ``_exceptions.py`` is the model)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import chaoslib_ext
from chaoslib_ext import exceptions

PACKAGE = Path(chaoslib_ext.__file__).parent


def error_classes_outside() -> list[str]:
    found = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name == "exceptions.py" and module.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            public = isinstance(node, ast.ClassDef) and not node.name.startswith("_")  # "_X": private flow
            if public and re.search(r"(Error|Exception)$", node.name):
                found.append(f"{module.relative_to(PACKAGE.parent)}: {node.name}")
    return found


def test_no_error_class_lives_outside_the_tree():
    assert error_classes_outside() == []


def test_every_error_class_is_drawn_in_the_tree_and_says_when_it_is_raised():
    tree = exceptions.__doc__ or ""
    classes = [c for _, c in inspect.getmembers(exceptions, inspect.isclass) if c.__module__ == exceptions.__name__]
    errors = [c for c in classes if issubclass(c, Exception)]
    assert len(errors) >= 15
    for cls in errors:
        assert re.search(rf"[└├]── {cls.__name__}\b", tree), f"{cls.__name__} is not drawn in exceptions.py"
        assert cls.__doc__, f"{cls.__name__} has no docstring"
    assert set(exceptions.__all__) >= {c.__name__ for c in errors}


def test_the_tree_drawn_is_the_tree_defined():
    """Each drawn child sits under its real parent (by indentation)."""
    stack: list[tuple[int, str]] = []
    checked = 0
    for line in (exceptions.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*)[└├]── (\w+)", line)
        if not match:
            root = re.match(r"^    (\w+)\s", line)
            if root:
                stack = [(0, root[1])]
            continue
        depth, name = len(match[1]), match[2]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        cls = getattr(exceptions, name, None)
        if cls is not None and hasattr(exceptions, parent):
            assert getattr(exceptions, parent) in cls.__mro__[1:], f"{name} is drawn under {parent}"
            checked += 1
        stack.append((depth, name))
    assert checked >= 12
