"""OpenTelemetry traces: on only when a tracer provider is installed (STEWARD_OTLP_ENDPOINT, or a test's).

Off, `span()` yields None and no OpenTelemetry module is even imported: the receiver and the worker pay a
function call. On, a delivery's span is the root; its trace context travels inside each job's keyword
arguments (`TRACE_KWARG`, W3C traceparent) through Redis, so the job, the run, its sandbox commands, tool
calls and model requests are spans of the same trace.

Attributes are ids, names, counts and exit codes; never a token, a key, a payload or a command's output.
A failed span says only the exception's type (its message may quote a hostile workspace).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from app.settings import Settings

log = logging.getLogger(__name__)

TRACE_KWARG = "steward_trace"
"""The job keyword argument that carries the W3C traceparent of the span that enqueued the job."""
TRACER_NAME = "steward"
TRACES_PATH = "/v1/traces"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
Kind = Literal["internal", "server", "consumer", "client"]
Attributes = Mapping[str, str | int | float | bool]

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def install(provider: TracerProvider) -> None:
    """Trace from now on through `provider` (tests install one with an in-memory exporter)."""
    global _provider, _tracer
    _provider, _tracer = provider, provider.get_tracer(TRACER_NAME)


def uninstall() -> None:
    """Stop tracing, flushing and closing the provider's exporters."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def otlp_url(endpoint: str) -> str:
    """The collector's traces URL: `/v1/traces` added to a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is."""
    path = urlsplit(endpoint).path
    return endpoint if path.endswith(TRACES_PATH) else endpoint.rstrip("/") + TRACES_PATH


def configure(settings: Settings, service: str) -> bool:
    """Install an OTLP/HTTP exporting provider when the settings name an endpoint (and no provider is in
    place already); True when it did, and the caller then calls `uninstall` on its way out."""
    if settings.otlp_endpoint is None or _tracer is not None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from app import __version__

    resource = Resource.create({"service.name": service, "service.version": __version__})
    sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    headers = None
    if settings.otlp_headers is not None:
        from app.github.redact import register_secret
        from app.settings import otlp_headers

        headers = otlp_headers(settings.otlp_headers.get_secret_value())
        for value in headers.values():
            register_secret(value)  # masked should an exporter's error ever quote it
    exporter = OTLPSpanExporter(endpoint=otlp_url(settings.otlp_endpoint), headers=headers)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)
    sent = f" with headers {', '.join(sorted(headers))}" if headers else ""  # their names, never values
    log.info("tracing to %s as %s%s", otlp_url(settings.otlp_endpoint), service, sent)
    return True


def _parent(traceparent: object) -> Any:
    """The OpenTelemetry context of a remote parent, or None for a missing or malformed traceparent."""
    if not isinstance(traceparent, str):
        return None
    found = TRACEPARENT.fullmatch(traceparent)
    if found is None or int(found[1], 16) == 0 or int(found[2], 16) == 0:
        return None
    from opentelemetry import trace

    remote = trace.SpanContext(
        int(found[1], 16), int(found[2], 16), is_remote=True, trace_flags=trace.TraceFlags(int(found[3], 16))
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(remote))


@contextlib.contextmanager
def span(
    name: str, attributes: Attributes | None = None, *, kind: Kind = "internal", parent: object = None
) -> Iterator[Span | None]:
    """A child of the current span (or of `parent`, a traceparent string), current inside the block.

    Yields None when tracing is off. An exception marks the span failed with its type only.
    """
    tracer = _tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with tracer.start_as_current_span(
        name,
        context=_parent(parent),
        kind=SpanKind[kind.upper()],
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def traceparent() -> str | None:
    """The W3C traceparent of the current span, or None when nothing is traced.

    An unsampled span's is carried too: its job then follows the delivery's choice instead of sampling anew.
    """
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def job_kwargs() -> dict[str, str]:
    """The keyword argument that carries the current trace into a job (none when nothing is traced)."""
    current = traceparent()
    return {TRACE_KWARG: current} if current is not None else {}


def set_attributes(target: Span | None, attributes: Attributes) -> None:
    if target is not None:
        target.set_attributes(dict(attributes))
