import pytest

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.load.spec import LoadSpec


def test_defaults_and_the_wire_form_round_trip():
    spec = LoadSpec.parse({"users": 4, "warmup": "3s", "shape": {"type": "ramp", "from": 1, "over": "5s"}})
    assert LoadSpec.from_json(spec.to_json()) == spec
    assert spec.profile().spawn_rate == 4.0


def test_the_request_body_streams_with_usage_and_a_unique_prompt():
    body = LoadSpec.parse({"model": "m", "max_tokens": 7}).request_body("abc")
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0]["content"].endswith("[abc]")
    assert (body["model"], body["max_tokens"]) == ("m", 7)


def test_completions_send_a_prompt_and_extra_body_is_merged():
    spec = LoadSpec.parse({"path": "/v1/completions", "extra_body": {"temperature": 0}, "unique_prompts": False})
    body = spec.request_body("abc")
    assert "messages" not in body
    assert body["prompt"] == spec.prompt
    assert body["temperature"] == 0


@pytest.mark.parametrize(
    ("raw", "field", "accepted"),
    [
        ({"users": 0}, "users", "1 to 10000"),
        ({"path": "/v2/chat"}, "path", "/v1/chat/completions, /v1/completions"),
        ({"warmup": "5 seconds"}, "warmup", "e.g. 250ms"),
        ({"url": "ftp://x"}, "url", "http://host:port"),
        ({"goodput": {}}, "goodput", "ttft_ms, tpot_ms, e2el_ms"),
        ({"userz": 3}, "userz", "url, path, model, users"),
        ({"alternate": {"a": {"model": "x"}}}, "alternate.b", None),
        ({"alternate": {"a": {"url": "ftp://x"}, "b": {}}}, "alternate.a.url", "http://host:port"),
        ({"alternate": {"a": {}, "b": {}}}, "alternate", "a: {model: ...}"),
        ({"alternate": {"a": {"modle": "x"}, "b": {}}}, "alternate.a.modle", "model, url"),
    ],
)
def test_bad_fields_name_the_field_and_the_accepted_values(raw, field, accepted):
    with pytest.raises(SpecError) as err:
        LoadSpec.parse(raw)
    assert err.value.field == field
    assert accepted is None or accepted in (err.value.accepted or "")


def test_alternating_sides_pick_their_model_and_url_and_round_trip():
    spec = LoadSpec.parse(
        {
            "model": "m0",
            "url": "http://127.0.0.1:1",
            "alternate": {"a": {"model": "m1"}, "b": {"url": "http://127.0.0.1:2/"}},
        }
    )
    assert LoadSpec.from_json(spec.to_json()) == spec
    assert (spec.side(1).model, spec.side(1).url) == ("m1", "http://127.0.0.1:1")
    assert (spec.side(2).model, spec.side(2).url) == ("m0", "http://127.0.0.1:2")
    assert spec.side(0).model == "m0"
    assert spec.request_body("n", spec.side(1).model)["model"] == "m1"
