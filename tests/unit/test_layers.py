"""The layers of chaoslib_ext (its ``__init__`` draws them): every import, lazy ones included, goes to
the importer's own package or a lower layer; an import that runs back up the flow fails here, named."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import chaoslib_ext

PACKAGE = Path(chaoslib_ext.__file__).parent

#: bottom to top; names on one line are one layer (siblings must not import each other)
LAYERS: list[set[str]] = [
    {"exceptions", "ctk", "durations", "fields", "secrets", "access", "target", "registry", "run",
     "sse", "promql", "_jsonfile", "_filelock", "_processes", "_eventloop", "_aioserver", "_readiness"},
    {"samples"},
    {"metrics"},
    {"verdict"},
    {"proxy"},
    {"faults", "load", "scrape"},
    {"safeguards"},
    {"history"},
    {"report"},
    {"compare"},
    {"sweep"},
    {"experiment"},
    {"gameday"},
    {"controls", "console", "sandbox", "preflight", "deploy"},
    {"cli"},
]  # fmt: skip
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
FOUNDATION = LAYERS[0]


def unit(module: Path) -> str:
    """The package (or root module) a file belongs to."""
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_units(source: str, where: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source, where)):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            match = re.match(r"chaoslib_ext\.([A-Za-z_]+)", name)
            if match and match[1] in RANK:
                found.add(match[1])
    return found


def modules() -> list[tuple[Path, str]]:
    return [
        (m, m.read_text())
        for m in sorted(PACKAGE.rglob("*.py"))
        if not (m.parent == PACKAGE and m.name == "__init__.py")
    ]


def violations(sources: list[tuple[Path, str]]) -> list[str]:
    out = []
    for module, source in sources:
        own = unit(module)
        for other in imported_units(source, str(module)) - {own}:
            if other in FOUNDATION and own in FOUNDATION:
                continue  # the foundation's modules lean on each other (fields on durations, ...)
            if RANK[other] >= RANK[own]:
                out.append(
                    f"{module.relative_to(PACKAGE.parent)}: {own} imports {other} (layer {RANK[other]} >= {RANK[own]})"
                )
    return out


def test_every_package_has_a_layer():
    units = {unit(m) for m in PACKAGE.rglob("*.py") if not (m.parent == PACKAGE and m.name == "__init__.py")}
    assert units - set(RANK) == set(), "a new package needs its place in LAYERS and in chaoslib_ext/__init__.py"


def test_no_import_runs_back_up_the_flow():
    assert violations(modules()) == []


def test_the_layers_drawn_in_the_package_docstring_are_these():
    drawn = chaoslib_ext.__doc__ or ""
    for layer in LAYERS[1:]:
        for name in layer:
            assert re.search(rf"\b{name}/?", drawn), f"{name} is not drawn in chaoslib_ext/__init__.py"


def test_the_check_catches_an_import_up_the_flow():
    lazy = "def f():\n    from chaoslib_ext.report.tables import text_table\n"  # a lazy import counts too
    found = violations([*modules(), (PACKAGE / "metrics" / "probe.py", lazy)])
    assert found == ["chaoslib_ext/metrics/probe.py: metrics imports report (layer 8 >= 2)"]
