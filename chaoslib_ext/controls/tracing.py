"""OpenTelemetry spans of a run, exported over OTLP/HTTP (the ``otel`` extra: opentelemetry-sdk and its
OTLP/HTTP exporter):

    configuration:
      chaosllm_otlp: {endpoint: http://collector:4318, headers: {Authorization: {env: OTLP_TOKEN}}, sample: 0.05}

    chaosllm run <title>          the whole run, from the control's start to the verdict
      ├── activity <name>         each activity of the method and each rollback, as Chaos Toolkit ran it
      └── fault <id>              each fault, from its injection to its removal (the ledger's times)

``sample``: the share of the load's requests that carry a W3C ``traceparent`` (the run's trace id, a
span id of their own, sampled), so a slow request can be found in the server's traces; each load
process keeps the ones it sent, with the request's start, in ``samples/traceparent-<pid>.jsonl``.
The provider is the run's own (never the process-wide one); spans go out in batches and are flushed
at the run's end.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext

__all__ = ["OTLP_KEY", "OtlpSpec", "RunTracer"]

log = logging.getLogger("chaoslib_ext")
OTLP_KEY = "chaosllm_otlp"


@dataclass(frozen=True)
class OtlpSpec:
    endpoint: str  # the collector's OTLP/HTTP base: /v1/traces is added
    headers: dict[str, secrets.Credential]
    sample: float = 0.0

    @classmethod
    def parse(cls, raw: object, where: str = OTLP_KEY) -> OtlpSpec:
        f = Fields(raw, ["endpoint", "headers", "sample"], where)
        endpoint = f.string("endpoint")
        if not endpoint.startswith(("http://", "https://")):
            raise SpecError(f"{where}.endpoint", f"{endpoint!r} is not an http(s) URL", "http://collector:4318")
        headers = {
            str(k): secrets.parse_credential(v, f"{where}.headers.{k}") for k, v in f.mapping("headers", {}).items()
        }
        for name, value in headers.items():
            if isinstance(value, str) and secrets.is_credential_header(name):
                raise SpecError(f"{where}.headers.{name}", "a credential in clear would be written with the "
                                "configuration", "{env: VAR} or {secret: NAME}")  # fmt: skip
        return cls(endpoint.rstrip("/"), headers, f.number("sample", 0.0, minimum=0.0, maximum=1.0))


class RunTracer:
    """The spans of one run (see the module); every method is safe to call whatever the collector does."""

    def __init__(self, run: RunContext, spec: OtlpSpec, title: str) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.run, self.spec = run, spec
        headers = {k: secrets.resolve(v) for k, v in spec.headers.items()}
        resource = Resource.create({"service.name": "chaosllm", "chaosllm.run_id": run.run_dir.run_id})
        self._provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=f"{spec.endpoint}/v1/traces", headers=headers, timeout=10)
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
        self._tracer = self._provider.get_tracer("chaoslib_ext")
        self._root = self._tracer.start_span(
            f"chaosllm run {title}", attributes={"chaosllm.run_id": run.run_dir.run_id}
        )
        self._context = trace.set_span_in_context(self._root)
        self._activities: dict[int, Any] = {}

    @property
    def trace_id(self) -> str:
        """The run's trace id (32 hex digits), for the load's traceparent headers."""
        return f"{self._root.get_span_context().trace_id:032x}"

    def activity_started(self, activity: Mapping[str, Any]) -> None:
        name = str(activity.get("name", "?"))
        attributes = {"chaosllm.activity.type": str(activity.get("type", "")),
                      "chaosllm.activity.module": str((activity.get("provider") or {}).get("module", ""))}  # fmt: skip
        self._activities[id(activity)] = self._tracer.start_span(
            f"activity {name}", self._context, attributes=attributes
        )

    def activity_ended(self, activity: Mapping[str, Any], status: str | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self._activities.pop(id(activity), None)
        if span is not None:
            if status == "failed":
                span.set_status(Status(StatusCode.ERROR, "the activity failed"))
            span.end()

    def finish(self) -> None:
        """Every fault's span from the ledger (its injection to its removal), the run's end, a flush."""
        for e in self.run.ledger.entries():
            if e.injected_at is None:
                continue
            attributes = {"chaosllm.fault.family": e.family, "chaosllm.fault.target": e.target,
                          "chaosllm.fault.state": e.state}  # fmt: skip
            span = self._tracer.start_span(f"fault {e.id}", self._context, attributes=attributes,
                                           start_time=int(e.injected_at * 1e9))  # fmt: skip
            span.end(end_time=int((e.removed_at or e.injected_at) * 1e9))
        for span in self._activities.values():
            span.end()
        self._root.end()
        try:
            self._provider.shutdown()  # flushes what is batched
        except Exception as exc:  # a collector that is down must never fail the run
            log.warning("the traces could not all be exported: %s", exc)
