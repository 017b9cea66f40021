"""Bad input gets file:line:col, the field and the accepted values."""

import json
from pathlib import Path

import yaml

from chaoslib_ext.controls.settings import configuration_problems
from chaoslib_ext.experiment.loader import load_source
from chaoslib_ext.experiment.schema import SCHEMA_FILE
from chaoslib_ext.experiment.validate import validate
from chaoslib_ext.load.spec import _FIELDS as LOAD_FIELDS
from chaoslib_ext.safeguards.spec import LIVE_METRICS
from chaoslib_ext.verdict.spec import _ERROR_METRIC, _RECOVERABLE, METRICS, RECOVERY_PREFIX, SERVER_METRICS

DEMO = Path(__file__).parents[3] / "experiments" / "sandbox" / "redis-latency.yaml"


def problems_of(tmp_path, text):
    path = tmp_path / "e.yaml"
    path.write_text(text)
    return [str(p) for p in validate(load_source(path), settings=configuration_problems)]


def demo_text():
    return DEMO.read_text()


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_demo_experiment_is_valid():
    assert validate(load_source(DEMO)) == []


def test_an_unknown_fault_function_lists_the_known_ones(tmp_path):
    text = demo_text().replace("func: network_fault", "func: add_latency")
    out = problems_of(tmp_path, text)
    assert out == [
        f"{tmp_path}/e.yaml:{line_of(text, 'func: add_latency')}:13: method[1].provider.func: unknown function "
        "'add_latency' in chaoslib_ext.faults.network.actions (accepted: network_fault, remove_network_fault)"
    ]


def test_an_unknown_fault_action_lists_the_accepted_actions(tmp_path):
    text = demo_text().replace("action: delay ", "action: jitterbug ")
    out = problems_of(tmp_path, text)
    assert len(out) == 1
    assert f":{line_of(text, 'action: jitterbug')}:17: method[1].provider.arguments.action: unknown value " in out[0]
    assert (
        "(accepted: delay, loss, duplicate, corrupt, bandwidth, partition, netem, reset, slow-close, timeout)" in out[0]
    )


def test_an_unknown_fault_module_lists_the_modules(tmp_path):
    text = demo_text().replace("chaoslib_ext.faults.network.actions", "chaoslib_ext.faults.dns.actions")
    out = problems_of(tmp_path, text)
    assert "unknown module 'chaoslib_ext.faults.dns.actions'" in out[0]
    assert "chaoslib_ext.faults.network.actions" in out[0]


def test_a_malformed_duration_is_located_with_the_accepted_form(tmp_path):
    text = demo_text().replace("duration: 20s          # held", "duration: 20x          # held")
    out = problems_of(tmp_path, text)
    assert out == [
        f"{tmp_path}/e.yaml:{line_of(text, 'duration: 20x')}:19: method[1].provider.arguments.duration: malformed "
        "duration '20x' (accepted: a number with a unit: us, ms, s, m or h (e.g. 250ms, 20s, 1m30s))"
    ]


def test_negative_latency_is_refused(tmp_path):
    text = demo_text().replace("latency: 200ms", "latency: -200ms")
    assert "arguments.delay.latency: duration '-200ms' is negative" in problems_of(tmp_path, text)[0]


def test_load_and_hypothesis_errors_point_into_the_extension(tmp_path):
    text = demo_text().replace("users: 16", "users: many").replace("metric: error_rate", "metric: errors", 1)
    out = problems_of(tmp_path, text)
    assert len(out) == 2  # every error of the block, in the order of the file
    assert f":{line_of(text, 'users: many')}:14: extensions[0].load.users: 'many' is not of type 'integer'" in out[0]
    assert f":{line_of(text, 'metric: errors')}:" in out[1]
    assert "hypotheses[5].metric: unknown value 'errors' (accepted: ttft_ms.mean, ttft_ms.min" in out[1]


def test_variables_are_substituted_before_checking(tmp_path):
    raw = yaml.safe_load(demo_text())
    raw["configuration"]["latency"] = "20x"
    raw["method"][1]["provider"]["arguments"]["delay"]["latency"] = "${latency}"
    out = problems_of(tmp_path, yaml.safe_dump(raw))
    assert "malformed duration '20x'" in out[0]


def test_our_activities_need_the_control(tmp_path):
    raw = yaml.safe_load(demo_text())
    del raw["controls"]
    out = problems_of(tmp_path, yaml.safe_dump(raw))
    assert any("the chaosllm control is missing" in p for p in out)


def test_chaostoolkit_own_rules_apply_too(tmp_path):
    raw = yaml.safe_load(demo_text())
    probe = {"type": "probe", "name": "no tolerance", "provider": {"type": "python", "module": "os", "func": "getpid"}}
    raw["steady-state-hypothesis"] = {"title": "t", "probes": [probe]}
    out = problems_of(tmp_path, yaml.safe_dump(raw))
    assert any("chaostoolkit:" in p and "tolerance" in p for p in out), out


def test_a_malformed_shape_is_located_before_chaos_toolkit_sees_it(tmp_path):
    text = demo_text().replace("  - type: action\n", "  - type: actoin\n", 1)
    out = problems_of(tmp_path, text)
    assert len(out) == 1
    assert "method[0].type: unknown value 'actoin' (accepted: action, probe)" in out[0]


def test_a_target_file_is_found_next_to_the_experiment(tmp_path):
    from chaoslib_ext.experiment.variables import anchored_target

    (tmp_path / "t.yaml").write_text("kind: chaosllm/target\n")
    text = demo_text().replace("chaosllm_target: sandbox", "chaosllm_target: t.yaml")
    assert problems_of(tmp_path, text) == []
    exp = yaml.safe_load(text)
    assert anchored_target(str(tmp_path / "e.yaml"), exp, {}) == {"chaosllm_target": str(tmp_path / "t.yaml")}
    # one given on the command line is the user's, relative to where they are
    assert anchored_target(str(tmp_path / "e.yaml"), exp, {"chaosllm_target": "x.yaml"}) == {
        "chaosllm_target": "x.yaml"
    }


def test_a_missing_target_file_is_located(tmp_path):
    text = demo_text().replace("chaosllm_target: sandbox", "chaosllm_target: nowhere.yaml")
    [problem] = problems_of(tmp_path, text)
    where = f"{tmp_path}/e.yaml:{line_of(text, 'chaosllm_target:')}:20"
    assert problem.startswith(f"{where}: configuration.chaosllm_target")
    assert f"target file {tmp_path}/nowhere.yaml does not exist" in problem
    assert "accepted: 'sandbox' or a target file" in problem


def test_the_schema_names_the_same_metrics_and_fields_as_the_parsers():
    schema = json.loads(SCHEMA_FILE.read_text())
    plain, errors, recovery, server = schema["$defs"]["hypothesis"]["properties"]["metric"]["anyOf"]
    assert plain["enum"] == list(METRICS)
    assert server["enum"] == list(SERVER_METRICS)
    assert errors["pattern"] == _ERROR_METRIC.pattern
    assert recovery["enum"] == [f"{RECOVERY_PREFIX}{m}" for m in _RECOVERABLE]
    assert schema["$defs"]["condition"]["properties"]["metric"]["enum"] == list(LIVE_METRICS)
    assert list(schema["$defs"]["load"]["properties"]) == list(LOAD_FIELDS)


def test_each_bad_session_setting_is_reported_at_its_line_before_a_run(tmp_path):
    settings = (
        "  chaosllm_control: here\n"
        "  chaosllm_control_token: hunter2\n"
        "  chaosllm_approve: sometimes\n"
        "  chaosllm_metrics_linger: soon\n"
        "  chaosllm_pushgateway: pushgw:9091\n"
        "  chaosllm_grafana:\n"
        "    url: ftp://grafana\n"
        "  chaosllm_otlp:\n"
        "    endpoint: http://collector:4318\n"
        "    sample: 2\n"
    )
    text = demo_text().replace("configuration:\n", "configuration:\n" + settings, 1)
    out = problems_of(tmp_path, text)
    expected = [
        ("chaosllm_control: here", "configuration.chaosllm_control: 'here' is not HOST:PORT"),
        ("chaosllm_control_token", "configuration.chaosllm_control_token: a token in clear would be written"),
        (
            "chaosllm_approve",
            "configuration.chaosllm_approve: unknown approval mode 'sometimes' (accepted: none, each)",
        ),
        ("chaosllm_metrics_linger", "configuration.chaosllm_metrics_linger: malformed duration 'soon'"),
        ("chaosllm_pushgateway", "configuration.chaosllm_pushgateway: 'pushgw:9091' is not an http(s) URL"),
        ("url: ftp://grafana", "configuration.chaosllm_grafana.url: 'ftp://grafana' is not an http(s) URL"),
        ("sample: 2", "configuration.chaosllm_otlp.sample: "),
    ]
    assert len(out) == len(expected), out
    for (needle, message), problem in zip(expected, out, strict=True):
        assert f"e.yaml:{line_of(text, needle)}:" in problem, problem
        assert message in problem, problem
    assert "hunter2" not in "".join(out)


def test_a_session_setting_left_to_a_variable_is_checked_with_its_value(tmp_path):
    text = demo_text().replace("configuration:\n", "configuration:\n  gw: pushgw\n  chaosllm_pushgateway: ${gw}\n", 1)
    assert [p for p in problems_of(tmp_path, text) if "'pushgw' is not an http(s) URL" in p]
    text = text.replace("gw: pushgw", "gw: http://pushgw:9091")
    assert problems_of(tmp_path, text) == []
