import pytest

from chaoslib_ext.exceptions import ExperimentInvalid
from chaoslib_ext.experiment.loader import MAX_NODES, load_source, parse_path


def load(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return load_source(path)


def problems(tmp_path, text):
    with pytest.raises(ExperimentInvalid) as err:
        load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def test_every_value_has_its_line_and_column(tmp_path):
    src = load(tmp_path, "title: t\nmethod:\n  - name: a\n    provider:\n      func: f\n")
    assert src.locate(("method", 0, "provider", "func")) == (5, 13)
    assert src.locate(("method", 0, "name")) == (3, 11)
    # a missing path points at its nearest ancestor
    assert src.locate(("method", 0, "provider", "arguments", "x")) == (5, 7)


def test_parse_path_reads_indices():
    assert parse_path("extensions[0].load.users") == ("extensions", 0, "load", "users")
    assert parse_path("") == ()


def test_duplicate_keys_are_errors_not_overwrites(tmp_path):
    assert problems(tmp_path, "title: a\ntitle: b\n") == [f"{tmp_path}/x.yaml:2:1: duplicate key 'title'"]


def test_object_tags_are_refused(tmp_path):
    out = problems(tmp_path, "title: !!python/object/apply:os.system ['true']\n")
    assert "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'" in out[0]


def test_alias_bombs_are_bounded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    out = problems(tmp_path, "\n".join(lines) + "\n")
    assert f"more than {MAX_NODES} values" in out[0]


def test_syntax_errors_are_located(tmp_path):
    out = problems(tmp_path, "title: t\nmethod: [a, b\n")
    assert out[0].startswith(f"{tmp_path}/x.yaml:3:1: YAML syntax")


def test_timestamps_and_binary_must_be_quoted(tmp_path):
    assert "quote it" in problems(tmp_path, "title: 2024-01-01\n")[0]


def test_a_top_level_list_is_not_an_experiment(tmp_path):
    assert "mapping at the top level" in problems(tmp_path, "- a\n")[0]


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path):
    with pytest.raises(ExperimentInvalid, match="cannot read"):
        load_source(tmp_path / "nope.yaml")


def test_scalar_object_tags_are_refused_too(tmp_path):
    assert "could not determine a constructor" in problems(tmp_path, "title: !!python/name:os.system ''\n")[0]
