"""An OTLP/HTTP trace receiver (the OpenTelemetry Collector is not in the registries here): ``POST
/v1/traces`` with a protobuf ``ExportTraceServiceRequest`` (OTLP 1.x, binary encoding, optionally
gzip), decoded with ``opentelemetry-proto``; answered with an empty ``ExportTraceServiceResponse`` as the
collector does. A body that does not decode is a 400, so an exporter that does not follow the protocol
fails here. It runs on loopback in a thread."""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from aiohttp import web
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.fakes.threaded import ThreadedApp


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, str]
    resource: dict[str, str]
    status: tuple[int, str]  # (code: 0 unset, 1 ok, 2 error; message)


class OtlpReceiver(ThreadedApp):
    def __init__(self) -> None:
        super().__init__()
        self.spans: list[ReceivedSpan] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/traces", self._traces)

    async def _traces(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-protobuf":
            return web.Response(status=415, text="application/x-protobuf only")
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            return web.Response(status=400, text=str(exc))
        for resource_spans in message.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for s in scope.spans:
                    attributes = {a.key: a.value.string_value for a in s.attributes}
                    ids = (s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex())
                    times = (s.start_time_unix_nano, s.end_time_unix_nano)
                    status = (s.status.code, s.status.message)
                    self.spans.append(ReceivedSpan(s.name, *ids, *times, attributes, resource, status))
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")  # fmt: skip
