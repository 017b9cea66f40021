import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.verdict.expect import parse_expect


@pytest.mark.parametrize(
    ("text", "reference_value", "value", "holds"),
    [
        ("< 300", None, 299.9, True),
        ("< 300", None, 300, False),
        ("<= 2s", None, 2000, True),  # seconds converted for an ms metric
        (">= 50% of baseline", 1000, 500, True),
        (">= 50% of baseline", 1000, 499, False),
        (">= baseline + 150ms", 60, 210, True),
        (">= baseline + 150ms", 60, 209, False),
        ("<= baseline - 10", 60, 50, True),
        ("within 20% of baseline", 100, 120, True),
        ("within 20% of baseline", 100, 79, False),
        ("within 50ms of baseline", 100, 149, True),
    ],
)
def test_bounds(text, reference_value, value, holds):
    e = parse_expect(text, "ms")
    bound = e.bound(reference_value)
    assert e.holds(value, bound) is holds


def test_a_relative_bound_without_a_reference_value_is_unknown():
    assert parse_expect(">= 50% of baseline", "").bound(None) is None


@pytest.mark.parametrize(
    ("text", "unit", "fragment"),
    [
        ("about 300", "ms", "cannot read"),
        (">= 50% of steady", "", "unknown phase 'steady'"),
        ("< 3s", "", "without a time unit"),
        (300, "ms", "expected a string"),
    ],
)
def test_unreadable_expectations_list_the_accepted_forms(text, unit, fragment):
    with pytest.raises(SpecError) as err:
        parse_expect(text, unit)
    assert fragment in err.value.message
    assert err.value.accepted
