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
    ],
)
def test_bad_fields_name_the_field_and_the_accepted_values(raw, field, accepted):
    with pytest.raises(SpecError) as err:
        LoadSpec.parse(raw)
    assert err.value.field == field
    assert accepted in (err.value.accepted or "")
