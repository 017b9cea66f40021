import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.load.profile import LoadProfile, parse_shape


def profile(shape, users=10, duration=None):
    return LoadProfile(users, 5.0, parse_shape(shape), duration)


def test_constant_holds_and_stops_after_the_duration():
    p = profile("constant", duration=30.0)
    assert p.tick(0.0) == (10, 5.0)
    assert p.tick(29.9) == (10, 5.0)
    assert p.tick(30.0) is None


def test_ramp_grows_linearly_then_holds():
    p = profile({"type": "ramp", "from": 2, "over": "8s"})
    assert [p.tick(t)[0] for t in (0, 4, 8, 100)] == [2, 6, 10, 10]


def test_step_adds_users_every_interval_up_to_the_target():
    p = profile({"type": "step", "step": 4, "every": "10s"})
    assert [p.tick(t)[0] for t in (0, 9.9, 10, 25, 60)] == [4, 4, 8, 10, 10]


def test_spike_jumps_for_its_duration():
    p = profile({"type": "spike", "to": 50, "at": "10s", "for": "5s"})
    assert [p.tick(t)[0] for t in (9.9, 10, 14.9, 15)] == [10, 50, 50, 10]


@pytest.mark.parametrize(
    ("shape", "field", "fragment"),
    [
        ("wave", "shape", "unknown shape 'wave'"),
        ({"type": "ramp", "over": "10"}, "shape.over", "has no unit"),
        ({"type": "step", "step": 0, "every": "1s"}, "shape.step", "out of range"),
        ({"type": "spike", "to": 5, "at": "1s", "for": "1s", "x": 1}, "shape.x", "unknown field"),
    ],
)
def test_bad_shapes_name_the_field(shape, field, fragment):
    with pytest.raises(SpecError) as err:
        parse_shape(shape)
    assert err.value.field == field
    assert fragment in err.value.message
