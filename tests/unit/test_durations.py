import pytest

from chaoslib_ext.durations import format_duration, parse_duration
from chaoslib_ext.exceptions import SpecError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("20s", 20.0), ("1m30s", 90.0), ("1.5s", 1.5), ("2h", 7200.0), ("500us", 0.0005), ("0", 0.0)],
)
def test_go_style_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("20x", "malformed"),
        ("-5s", "negative"),
        (20, "no unit"),
        ("", "malformed"),
        ("s", "malformed"),
        (True, "expected a duration"),
        ("10s5", "malformed"),
    ],
)
def test_malformed_durations_say_what_is_accepted(value, fragment):
    with pytest.raises(SpecError) as err:
        parse_duration(value, "duration")
    assert fragment in err.value.message
    assert err.value.field == "duration"
    assert "250ms" in err.value.accepted


def test_zero_can_be_refused():
    with pytest.raises(SpecError, match="above zero"):
        parse_duration("0s", "d", allow_zero=False)


def test_format_is_short():
    assert [format_duration(s) for s in (0.2, 20, 90, 120)] == ["200ms", "20s", "1m30s", "2m"]
