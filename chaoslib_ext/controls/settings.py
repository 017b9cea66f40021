"""The run session's configuration keys, checked without touching anything.

``chaosllm validate`` reports every problem here at its line before a run; ``open_session`` raises the
first one before it starts anything. Values are only parsed: no credential is resolved, nothing is bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.controls.annotations import GRAFANA_KEY, GrafanaSpec
from chaoslib_ext.controls.endpoint import CONTROL_KEY, TOKEN_KEY, parse_bind
from chaoslib_ext.controls.exporter import PUSHGATEWAY_KEY
from chaoslib_ext.controls.gate import APPROVE
from chaoslib_ext.controls.tracing import OTLP_KEY, OtlpSpec
from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import SpecError, TargetError
from chaoslib_ext.gameday.record import GAMEDAY_KEY, GameDay

__all__ = ["APPROVE_KEY", "LINGER_KEY", "SESSION_KEYS", "configuration_problems"]

APPROVE_KEY = "chaosllm_approve"
LINGER_KEY = "chaosllm_metrics_linger"


def _token(raw: object) -> None:
    if isinstance(raw, str):
        raise SpecError(TOKEN_KEY, "a token in clear would be written with the configuration",
                        "{env: VAR} or {secret: NAME}")  # fmt: skip
    secrets.parse_credential(raw, TOKEN_KEY)


def _approve(raw: object) -> None:
    if raw not in APPROVE:
        raise SpecError(APPROVE_KEY, f"unknown approval mode {raw!r}", ", ".join(APPROVE))


def _url(raw: object) -> None:
    if not (isinstance(raw, str) and raw.startswith(("http://", "https://"))):
        raise SpecError(PUSHGATEWAY_KEY, f"{raw!r} is not an http(s) URL", "http://pushgateway:9091")


# each key, its check, and what it accepts (for the errors the checks do not word themselves)
SESSION_KEYS: dict[str, tuple[Callable[[Any], object], str]] = {
    CONTROL_KEY: (parse_bind, "HOST:PORT"),
    TOKEN_KEY: (_token, "{env: VAR} or {secret: NAME}"),
    APPROVE_KEY: (_approve, ", ".join(APPROVE)),
    GAMEDAY_KEY: (GameDay.parse, "{facilitator, scribe, observers, preflight_window}"),
    LINGER_KEY: (lambda v: parse_duration(str(v), LINGER_KEY), "a duration such as 30s"),
    PUSHGATEWAY_KEY: (_url, "http://pushgateway:9091"),
    GRAFANA_KEY: (GrafanaSpec.parse, "{url, token: {env: VAR}, dashboard_uid, tags}"),
    OTLP_KEY: (OtlpSpec.parse, "{endpoint, headers: {NAME: {env: VAR}}, sample}"),
}


def configuration_problems(configuration: Mapping[str, Any]) -> list[SpecError]:
    """One SpecError per session key whose value does not parse (absent keys take their defaults)."""
    problems: list[SpecError] = []
    for key, (check, accepted) in SESSION_KEYS.items():
        if configuration.get(key) is None:
            continue
        try:
            check(configuration[key])
        except SpecError as exc:
            problems.append(exc)
        except TargetError as exc:
            problems.append(SpecError(key, str(exc), accepted))
    return problems
