"""Chaos Toolkit probes on the streaming endpoint (``module: chaoslib_ext.load.probes``).

The probe calls the very endpoint the run's load calls, as the load calls it: the load's url, path,
model and headers (credentials resolved), the same TLS settings; outside a run (or before its load
started) the target's gateway and its endpoint settings.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import requests
from urllib3.exceptions import InsecureRequestWarning

from chaoslib_ext.ctk import Configuration
from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.load.session import active_load
from chaoslib_ext.load.spec import CONNECT_BUDGET_S, LoadSpec
from chaoslib_ext.run.context import RUN_DIR_KEY, RunContext, target_for
from chaoslib_ext.sse import LineKind, StreamState, feed_line

__all__ = ["stream_completes"]

PROBE_MAX_TOKENS = 4


def stream_check(spec: LoadSpec, timeout_s: float = 10.0) -> tuple[bool, str]:
    """(ok, what happened) of one streamed completion of ``spec``'s endpoint within ``timeout_s``:
    ok when content and ``[DONE]`` arrived."""
    probe = replace(spec, max_tokens=PROBE_MAX_TOKENS, unique_prompts=False, prompt="are you up?")
    state = StreamState()
    content = done = False
    try:
        with _post(probe, timeout_s) as resp:
            if resp.status_code != 200:
                return False, f"HTTP {resp.status_code}: {resp.text[:200]}"
            for line in resp.iter_lines():
                kind = feed_line(line, state)
                content = content or kind == LineKind.CONTENT
                done = done or kind == LineKind.DONE
    except (requests.RequestException, ChaosLLMError, SpecError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if state.error:
        return False, f"error event: {state.error}"
    if not content:
        return False, "no content in the stream"
    return (True, "content and [DONE]") if done else (False, "stream ended before [DONE]")


def _post(probe: LoadSpec, timeout_s: float) -> requests.Response:
    headers = {"Accept": "text/event-stream", **probe.resolved_headers()}
    with warnings.catch_warnings():
        if probe.insecure:  # asked for by name: urllib3's warning on every call would only be noise
            warnings.simplefilter("ignore", InsecureRequestWarning)
        return requests.post(
            probe.endpoint_url(),
            json=probe.request_body("probe", probe.model),
            headers=headers,
            stream=True,
            timeout=(min(CONNECT_BUDGET_S, timeout_s), timeout_s),
            verify=False if probe.insecure else (probe.ca_bundle or True),
        )


def stream_once(base_url: str, timeout_s: float = 5.0) -> bool:
    """True when one streamed chat completion from ``base_url`` (no key) succeeded within ``timeout_s``."""
    return stream_check(LoadSpec(url=base_url.rstrip("/")), timeout_s)[0]


def stream_completes(timeout: float = 10.0, configuration: Configuration | None = None) -> bool:
    """One streamed completion through the run's load endpoint (else the target's gateway) succeeds
    within ``timeout`` seconds."""
    return stream_check(probe_load(configuration), timeout_s=timeout)[0]


def probe_load(configuration: Mapping[str, Any] | None) -> LoadSpec:
    """The load the run started, else one on the target's gateway endpoint."""
    configuration = configuration or {}
    if configuration.get(RUN_DIR_KEY):
        started = active_load(RunContext.from_configuration(configuration))
        if started is not None:
            return started
    target = target_for(configuration)
    return LoadSpec().with_target(target.service("gateway"))


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "stream_completes": lambda raw: Fields(raw, ["timeout"]).number("timeout", 10.0, minimum=0.1),
}
