"""A voice agent instrumented with the OpenTelemetry Python SDK, exporting with its
OTLP/HTTP exporters (protobuf, gzip) to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT:
metrics (a counter, an up-down counter, a histogram), a log record through Python's
logging, and spans (an HTTP server span, a GenAI client span). Exports twice, so that
cumulative metrics have an increase to report. Prints one line per export result."""

import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

resource = Resource.create({"service.name": "voice-agent", "service.version": "1.4.2"})

reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(compression=Compression.Gzip), export_interval_millis=3_600_000
)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter = meter_provider.get_meter("voice-agent")
turns = meter.create_counter("agent.turns", unit="1")
active = meter.create_up_down_counter("agent.calls.active")
latency = meter.create_histogram("stt.latency", unit="ms")

tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(
    SimpleSpanProcessor(OTLPSpanExporter(compression=Compression.Gzip))
)
tracer = tracer_provider.get_tracer("voice-agent")

logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(
    SimpleLogRecordProcessor(OTLPLogExporter(compression=Compression.Gzip))
)
set_logger_provider(logger_provider)
log = logging.getLogger("voice-agent")
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
log.setLevel(logging.INFO)

# First interval: 2 turns, 2 active calls, three latencies.
turns.add(2, {"provider": "deepgram"})
active.add(2)
for ms in (80, 120, 900):
    latency.record(ms, {"provider": "deepgram"})
print("metrics 1", meter_provider.force_flush(), flush=True)

# Second interval: 3 more turns, one call ended, 10 latencies of 300 ms.
turns.add(3, {"provider": "deepgram"})
active.add(-1)
for _ in range(10):
    latency.record(300, {"provider": "deepgram"})
print("metrics 2", meter_provider.force_flush(), flush=True)

with tracer.start_as_current_span("POST /rooms", kind=SpanKind.SERVER) as span:
    span.set_attribute("http.request.method", "POST")
    span.set_attribute("http.route", "/rooms")
    span.set_attribute("http.response.status_code", 201)
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as ai:
        ai.set_attribute("gen_ai.system", "openai")
        ai.set_attribute("gen_ai.operation.name", "chat")
        ai.set_attribute("gen_ai.request.model", "gpt-4o")
        ai.set_attribute("gen_ai.usage.input_tokens", 1000)
        ai.set_attribute("gen_ai.usage.output_tokens", 200)
        log.warning(
            "caller +1 415 555 0100 asked for a refund",
            extra={"call_id": "otel-call-1", "intent": "refund"},
        )
print("traces", tracer_provider.force_flush(), flush=True)
print("logs", logger_provider.force_flush(), flush=True)
meter_provider.shutdown()
tracer_provider.shutdown()
logger_provider.shutdown()
sys.exit(0)
