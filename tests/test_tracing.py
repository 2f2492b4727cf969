"""OpenTelemetry traces: one delivery through the real receiver and a real arq worker on the test's Redis is
one trace, from the receiver's span through its jobs and its run down to the sandbox commands (SDK in-memory
exporter; real Docker, git and SQLite; GitHub's HTTP mocked by respx)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.observability import tracing
from app.settings import Settings
from app.web.app import create_app
from tests.conftest import WEBHOOK_SECRET
from tests.github_mock import TOKEN
from tests.run_fixtures import MAINTAINER, FakeRunGitHub, Remote, comment_event, runs
from tests.test_webhook_support import encode, github_headers
from tests.worker_support import run_burst

pytestmark = pytest.mark.anyio


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.install(provider)
    try:
        yield spans
    finally:
        tracing.uninstall()


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names of the span's parents, nearest first."""
    names: list[str] = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


@pytest.mark.docker
async def test_one_delivery_is_one_trace_from_the_receiver_to_the_run_and_its_sandbox_commands(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    exporter: InMemorySpanExporter,
) -> None:
    github.files[".github/steward.yml"] = "workflows:\n  docs:\n    approval:\n      required: false\n"
    body = encode(comment_event("/steward docs", MAINTAINER, 7001))
    with TestClient(create_app(settings)) as client:
        answer = client.post("/webhooks", content=body, headers=github_headers(body, "issue_comment", "t-1"))
    assert answer.status_code == 202 and answer.headers["x-steward-outcome"] == "queued"
    await run_burst(settings)
    (run,) = await runs(settings)
    assert run.state == "proposed"

    spans = exporter.get_finished_spans()
    (root,) = [span for span in spans if span.name == "webhook issue_comment"]
    assert root.parent is None and root.attributes is not None
    assert root.attributes["steward.outcome"] == "queued" and root.attributes["github.delivery"] == "t-1"
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}, "more than one trace"
    names = {span.name for span in spans}
    assert {"job handle_comment", "job plan_run", "job work_run", "run docs", "sandbox command"} <= names
    assert "github POST" in names and "github GET" in names

    by_id = {span.context.span_id: span for span in spans}
    commands = [span for span in spans if span.name == "sandbox command"]
    for command in commands:
        # The plan job queued the work job (no approval needed), so the work continues the planning's span.
        expected = ["run docs", "job work_run", "run docs", "job plan_run", "job handle_comment"]
        assert ancestors(command, by_id) == [*expected, "webhook issue_comment"]
        assert command.attributes is not None and command.attributes["steward.run.id"] == run.id
        assert command.attributes["steward.command.exit_code"] == 0
    (work_run,) = [span for span in spans if span.name == "run docs" and span.attributes
                   and span.attributes["steward.run.phase"] == "the work"]  # fmt: skip
    assert work_run.attributes is not None and work_run.attributes["steward.run.id"] == run.id
    assert work_run.attributes["steward.engine"] == "builtin"

    # Ids, names and counts only: no token, no secret, no payload or output in any attribute.
    values = [str(value) for span in spans for value in (span.attributes or {}).values()]
    assert values and not [v for v in values if TOKEN in v or WEBHOOK_SECRET in v or "/steward docs" in v]


async def test_a_missing_or_forged_traceparent_starts_a_new_trace(exporter: InMemorySpanExporter) -> None:
    with tracing.span("from nowhere", parent="00-zz-not-a-traceparent"):
        pass
    with tracing.span("from zeros", parent="00-" + "0" * 32 + "-" + "0" * 16 + "-01"):
        pass
    parent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    with tracing.span("continued", parent=parent):
        assert tracing.traceparent() is not None and tracing.traceparent() != parent
        assert tracing.job_kwargs()[tracing.TRACE_KWARG].startswith("00-" + "ab" * 16 + "-")
    nowhere, zeros, continued = exporter.get_finished_spans()
    assert nowhere.parent is None and zeros.parent is None
    assert continued.parent is not None and continued.parent.span_id == int("cd" * 8, 16)
    assert continued.context.trace_id == int("ab" * 16, 16)


def test_without_a_provider_nothing_is_traced_or_carried() -> None:
    assert not tracing.enabled()
    with tracing.span("ignored") as span:
        assert span is None
        assert tracing.job_kwargs() == {}


def test_the_otlp_url_gets_its_traces_path_once() -> None:
    assert tracing.otlp_url("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert tracing.otlp_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert tracing.otlp_url("https://c.example/v1/traces") == "https://c.example/v1/traces"


@pytest.mark.parametrize("module", ["app.web.app", "jobs.worker", "sandbox.docker_sandbox"])
def test_the_opentelemetry_sdk_is_not_imported_while_nothing_is_traced(module: str) -> None:
    """Nor its exporter (FastAPI itself imports the opentelemetry API package, as it did before Steward's
    tracing: what is not loaded is the SDK, its exporters and protobuf)."""
    import subprocess
    import sys

    heavy = ("opentelemetry.sdk", "opentelemetry.exporter", "google.protobuf")
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
