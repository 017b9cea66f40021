"""Property-based fuzzing of the loader and the validator (``chaosllm validate``): thousands of
generated and mutated experiment files, and never a traceback: either a valid experiment or every
problem as ``file:line:col: message`` with exit code 2.

Inputs: the shipped experiments mutated as text (bytes replaced, lines dropped or duplicated,
truncated), as data (any value replaced by a random one, keys dropped or renamed), random YAML with
tags, anchors and aliases, and random bytes.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaoslib_ext.cli.main import main

ROOT = Path(__file__).parents[3]
SEEDS = sorted(
    p for p in (ROOT / "experiments").glob("*/*.yaml") if yaml.safe_load(p.read_text()).get("kind") != "chaosllm/target"
)
TEXTS = [p.read_text() for p in SEEDS]
PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")
FUZZ = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["${step}", "${nope}", "10s", "-5s", "1000", "0", "all", "fixed", "delay", "chaoslib_ext.x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def check(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["validate", str(path), "--var", "chaosllm_target=sandbox"])
    if code == 0:
        assert out.getvalue().strip() == f"{path}: valid"
        return
    assert code == 2, (code, err.getvalue())
    lines = err.getvalue().splitlines()
    assert lines, "exit 2 without a message"
    for line in lines:
        m = PROBLEM.match(line)
        assert m, f"not file:line:col: message: {line!r}"
        assert m["file"] == str(path)
        assert int(m["line"]) >= 1
        assert int(m["col"]) >= 1


def paths_of(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths_of(v, (*prefix, i))


def replaced(data, path, value):
    if not path:
        return value
    head, *rest = path
    if isinstance(data, dict):
        return {k: (replaced(v, rest, value) if k == head else v) for k, v in data.items()}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(data)]


@FUZZ
@given(st.data())
def test_text_mutations_of_shipped_experiments(tmp_path_factory, data):
    text = TEXTS[data.draw(st.integers(0, len(TEXTS) - 1), label="experiment")].encode()
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["replace", "insert", "drop-line", "dup-line", "truncate"]))
        at = data.draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "replace":
            text = text[:at] + data.draw(st.binary(min_size=1, max_size=3)) + text[at + 1 :]
        elif kind == "insert":
            piece = data.draw(
                st.sampled_from([b":", b"- ", b"  ", b"\t", b"&a ", b"*a", b"!!python/object ", b"{", b"'"])
            )
            text = text[:at] + piece + text[at:]
        elif kind == "truncate":
            text = text[:at]
        else:
            lines = text.split(b"\n")
            i = data.draw(st.integers(0, len(lines) - 1))
            lines[i : i + 1] = [] if kind == "drop-line" else [lines[i], lines[i]]
            text = b"\n".join(lines)
    check(tmp_path_factory.mktemp("fuzz"), "mutated.yaml", text)


@FUZZ
@given(st.data())
def test_data_mutations_of_shipped_experiments(tmp_path_factory, data):
    doc = yaml.safe_load(TEXTS[data.draw(st.integers(0, len(TEXTS) - 1), label="experiment")])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(paths_of(doc))))
        doc = replaced(doc, path, data.draw(values))
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError):
        return
    check(tmp_path_factory.mktemp("fuzz"), "data.yaml", text.encode())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_generated_documents(tmp_path_factory, doc):
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    check(tmp_path_factory.mktemp("fuzz"), "gen.yaml", text.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path_factory, raw):
    check(tmp_path_factory.mktemp("fuzz"), "bytes.yaml", raw)


def test_alias_bombs_and_object_tags_are_refused_with_a_location(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    check(tmp_path, "bomb.yaml", bomb.encode())
    check(tmp_path, "tag.yaml", b"title: !!python/object/apply:os.system [echo pwned]\n")
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        assert main(["validate", str(tmp_path / "bomb.yaml")]) == 2
    assert "values after alias expansion" in err.getvalue()
