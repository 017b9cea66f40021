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


@pytest.mark.parametrize(
    ("url", "path", "sent_to"),
    [
        ("http://h:1", None, "http://h:1/v1/chat/completions"),
        ("http://h:1/v1/chat/completions", None, "http://h:1/v1/chat/completions"),  # taken as it is
        ("http://h:1/v1/completions/", None, "http://h:1/v1/completions"),
        ("https://api.example.com/v1", None, "https://api.example.com/v1/chat/completions"),  # OpenAI-style base
        ("https://h/openai", "/v1/completions", "https://h/openai/v1/completions"),
    ],
)
def test_a_url_that_already_names_the_endpoint_is_not_appended_twice(url, path, sent_to):
    spec = LoadSpec.parse({"url": url, **({"path": path} if path else {})})
    assert spec.endpoint_url() == sent_to
    assert LoadSpec.from_json(spec.to_json()).endpoint_url() == sent_to


def test_a_url_and_a_path_that_disagree_are_refused():
    with pytest.raises(SpecError) as err:
        LoadSpec.parse({"url": "http://h/v1/completions", "path": "/v1/chat/completions"})
    assert err.value.field == "path"


def test_the_default_deadline_is_connect_first_token_and_per_token_budgets():
    assert LoadSpec.parse({"max_tokens": 64}).deadline_s == 10.0 + 30.0 + 64 * 0.25
    assert LoadSpec.parse({"max_tokens": 64, "timeout": "5s"}).deadline_s == 5.0
    assert LoadSpec.parse({}).idle_timeout_s == 30.0


def test_no_file_form_carries_a_credential_in_clear(monkeypatch):
    monkeypatch.setenv("KEY_FOR_TEST", "sk-env-value-1234")
    spec = LoadSpec.parse(
        {
            "headers": {
                "Authorization": "Bearer sk-literal-5678",
                "X-Api-Key": {"env": "KEY_FOR_TEST"},
                "X-Team": "llm-platform",
            }
        }
    )
    assert spec.to_json()["headers"] == {
        "Authorization": "***",
        "X-Api-Key": {"env": "KEY_FOR_TEST"},
        "X-Team": "llm-platform",
    }
    assert spec.resolved_headers() == {
        "Authorization": "Bearer sk-literal-5678",
        "X-Api-Key": "sk-env-value-1234",
        "X-Team": "llm-platform",
    }
    from chaoslib_ext.secrets import scrub

    assert scrub("sk-literal-5678 and sk-env-value-1234") == "*** and ***"


def test_a_load_without_url_takes_the_target_endpoint_and_its_own_fields_win():
    from chaoslib_ext.access import Endpoint
    from chaoslib_ext.secrets import SecretRef
    from chaoslib_ext.target import Service

    key = SecretRef(env="OPENAI_API_KEY", prefix="Bearer ")
    endpoint = Endpoint("/v1/completions", "gpt-x", {"Authorization": key, "X-Team": "a"}, "/ca.pem")
    gateway = Service("gateway", "https://api.example.com/v1", "", endpoint=endpoint)
    spec = LoadSpec.parse({"model": "mine", "headers": {"X-Team": "b"}}).with_target(gateway)
    assert spec.endpoint_url() == "https://api.example.com/v1/completions"
    assert (spec.model, spec.ca_bundle) == ("mine", "/ca.pem")
    assert spec.headers == {"Authorization": key, "X-Team": "b"}


def test_a_credential_reference_names_env_or_secret():
    with pytest.raises(SpecError) as err:
        LoadSpec.parse({"headers": {"Authorization": {"prefix": "Bearer "}}})
    assert err.value.field == "headers.Authorization"
    assert "{env: VAR} or {secret: NAME}" in (err.value.accepted or "")


def test_an_open_loop_warms_up_for_its_senders_not_for_users_it_does_not_have():
    from chaoslib_ext.load.session import warmup_s

    assert warmup_s(LoadSpec.parse({"rate": 50})) == 3.0  # one sender, started at once, + 2 s
    assert warmup_s(LoadSpec.parse({"users": 16})) == 3.0
    assert warmup_s(LoadSpec.parse({"users": 16, "spawn_rate": 4})) == 6.0
