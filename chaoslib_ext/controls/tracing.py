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
at the run's end. A fault's span goes out once the fault is removed (the session syncs every few
seconds), so a run killed mid-way has exported what had ended; ``<run>/traces.json`` keeps the run's
trace and span ids, its start and the faults exported, and after a SIGKILL ``chaosllm cleanup`` exports
the rest (:func:`close_after_cleanup`): the run's span with its own ids (its children find their
parent), ended at the cleanup with an error status, and the span of every fault the cleanup removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import SpecError, TargetError
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry

__all__ = ["OTLP_KEY", "OtlpSpec", "RunTracer", "close_after_cleanup"]

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


def _ids(trace_id: int | None = None, span_id: int | None = None) -> Any:
    """An id generator (opentelemetry-sdk's) that hands out the run's own ids to its first span without
    a parent (the run's span re-made by the cleanup), random ones after; the ids were random, and say so."""
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class RunIds(RandomIdGenerator):
        def __init__(self) -> None:
            self.trace_id, self.span_id = trace_id, span_id

        def generate_trace_id(self) -> int:
            return self.trace_id if self.trace_id is not None else super().generate_trace_id()

        def generate_span_id(self) -> int:
            found, self.span_id = self.span_id, None
            return found if found is not None else super().generate_span_id()

    return RunIds()


def _exporter(spec: OtlpSpec) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {k: secrets.resolve(v) for k, v in spec.headers.items()}
    return OTLPSpanExporter(endpoint=f"{spec.endpoint}/v1/traces", headers=headers, timeout=10)


def _provider(run: RunContext, ids: Any) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": "chaosllm", "chaosllm.run_id": run.run_dir.run_id})
    return TracerProvider(resource=resource, id_generator=ids)


def _run_span(tracer: Any, run: RunContext, title: str, start_ns: int | None = None) -> Any:
    """The run's span (the root of its trace): at its start, or re-made by the cleanup with its start."""
    return tracer.start_span(f"chaosllm run {title}", attributes={"chaosllm.run_id": run.run_dir.run_id},
                             start_time=start_ns)  # fmt: skip


def _fault_span(tracer: Any, context: Any, entry: LedgerEntry) -> Any:
    """The fault's span, from its injection to its removal (to its injection when it was never removed)."""
    assert entry.injected_at is not None
    end = entry.removed_at or entry.injected_at
    attributes = {"chaosllm.fault.family": entry.family, "chaosllm.fault.target": entry.target,
                  "chaosllm.fault.state": entry.state}  # fmt: skip
    span = tracer.start_span(f"fault {entry.id}", context, attributes=attributes,
                             start_time=int(entry.injected_at * 1e9))  # fmt: skip
    span.end(end_time=int(end * 1e9))
    return span


class RunTracer:
    """The spans of one run (see the module); every method is safe to call whatever the collector does."""

    def __init__(self, run: RunContext, spec: OtlpSpec, title: str) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.run, self.spec = run, spec
        self._provider = _provider(run, _ids())
        self._provider.add_span_processor(BatchSpanProcessor(_exporter(spec), schedule_delay_millis=1000))
        self._tracer = self._provider.get_tracer("chaoslib_ext")
        self._root = _run_span(self._tracer, run, title)
        self._context = trace.set_span_in_context(self._root)
        self._activities: dict[int, Any] = {}
        self._lock = threading.Lock()  # the session's thread syncs, the run's end too
        self._path = run.run_dir.path / "traces.json"
        ids = self._root.get_span_context()
        self._state: dict[str, Any] = {"trace_id": f"{ids.trace_id:032x}", "span_id": f"{ids.span_id:016x}",
                                       "title": title, "started_at": self._root.start_time, "ended": False,
                                       "faults": []}  # fmt: skip
        write_json_atomic(self._path, self._state)

    @property
    def trace_id(self) -> str:
        """The run's trace id (32 hex digits), for the load's traceparent headers."""
        return str(self._state["trace_id"])

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

    def sync(self, final: bool = False) -> None:
        """The span of every fault removed since the last sync (``final``: of every fault, a fault never
        removed ending at its injection)."""
        with self._lock:
            self._sync(final)

    def _sync(self, final: bool) -> None:
        done = set(self._state["faults"])
        for e in self.run.ledger.entries():
            if e.injected_at is None or e.id in done or (e.removed_at is None and not final):
                continue
            _fault_span(self._tracer, self._context, e)
            self._state["faults"].append(e.id)
        if len(self._state["faults"]) > len(done) or final:
            self._state["ended"] = final
            write_json_atomic(self._path, self._state)

    def finish(self) -> None:
        """Every fault's span not yet sent (its injection to its removal), the run's end, a flush."""
        for span in self._activities.values():
            span.end()
        self._root.end()
        self.sync(final=True)
        _shutdown(self._provider)


def _shutdown(provider: Any) -> None:
    try:
        provider.shutdown()  # flushes what is batched
    except Exception as exc:  # a collector that is down must never fail the run
        log.warning("the traces could not all be exported: %s", exc)


def close_after_cleanup(run: RunContext, configuration: Mapping[str, Any]) -> str | None:
    """After ``chaosllm cleanup`` swept a killed run's faults: the spans the run could not send (its own,
    its faults'). A line saying what became of them; None when the run kept no trace or ended it itself."""
    path = run.run_dir.path / "traces.json"
    if configuration.get(OTLP_KEY) is None or not path.is_file():
        return None
    state = dict(read_json(path))
    if state.get("ended"):
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.trace import Status, StatusCode

    try:
        spec = OtlpSpec.parse(configuration[OTLP_KEY])
        exporter = _exporter(spec)
    except (SpecError, TargetError) as exc:  # a header's variable unset here, most often
        return f"the run's span and its faults' were not exported: {exc}"
    tracer = _provider(run, _ids(int(state["trace_id"], 16), int(state["span_id"], 16))).get_tracer("chaoslib_ext")
    root = _run_span(tracer, run, str(state.get("title", "")), int(state["started_at"]))
    root.set_status(Status(StatusCode.ERROR, "the run was killed; its faults were removed by chaosllm cleanup"))
    context, spans, sent = trace.set_span_in_context(root), [root], set(state["faults"])
    faults = [e for e in run.ledger.entries() if e.injected_at is not None and e.id not in sent]
    spans += [_fault_span(tracer, context, e) for e in faults]
    root.end()
    result = exporter.export(spans)
    exporter.shutdown()
    if result is not SpanExportResult.SUCCESS:
        return (
            f"the run's span and its faults' could not be exported to {spec.endpoint} (tried again at the next cleanup)"
        )
    write_json_atomic(path, {**state, "ended": True, "faults": [*state["faults"], *(e.id for e in faults)]})
    return f"the run's span and {len(faults)} fault span(s) exported"
