"""Traces leave over OTLP/HTTP as configured (RCM_OTLP_ENDPOINT, what compose and Kubernetes set), to a
receiver on 127.0.0.1 that decodes them as a collector would, and leave redacted: the exception's text
(a canary standing for PHI) and the sender's record key never reach the wire."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.semconv.trace import SpanAttributes

from services.chassis.settings import Settings
from services.chassis.telemetry import tracer_provider
from tests.support.serving import serving

CANARY = "CANARY-PATIENT-Zelda-Quixote-1961-04-02"


class Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies = []
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Receiver)) as url:
        yield f"{url}/v1/traces"


def test_spans_reach_an_otlp_receiver_with_the_service_name_and_without_phi(receiver: str) -> None:
    provider = tracer_provider("claims", Settings(otlp_endpoint=receiver))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("rcm.charges.v1 process") as parent:
        parent.set_attribute(SpanAttributes.MESSAGING_KAFKA_MESSAGE_KEY, CANARY)
        parent.set_attribute("rcm.event_type", "rcm.charges.EncounterReadyToBill.v1")
        with pytest.raises(ValueError), tracer.start_as_current_span("claim assemble"):
            raise ValueError(f"no coverage for {CANARY}")
    assert provider.force_flush(10_000)
    provider.shutdown()

    assert Receiver.bodies and {path for path, _ in Receiver.bodies} == {"/v1/traces"}
    spans = {}
    for _, body in Receiver.bodies:
        assert CANARY.encode() not in body
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope in resource_spans.scope_spans:
                spans.update({s.name: (service, s) for s in scope.spans})
    assert set(spans) == {"rcm.charges.v1 process", "claim assemble"}
    service, child = spans["claim assemble"]
    _, root = spans["rcm.charges.v1 process"]
    assert service == "rcm-claims"
    assert child.trace_id == root.trace_id and child.parent_span_id == root.span_id
    assert [e.name for e in child.events] == ["exception"]
    assert {a.key: a.value.string_value for a in child.events[0].attributes} == {"exception.type": "ValueError"}
    assert {a.key for a in root.attributes} == {"rcm.event_type"}
