"""The agent engine seen from outside: model tokens and cost, and tool calls by outcome, as metrics; each
model request and tool call a span, the sandbox commands a tool runs its children (scripted model, Docker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.observability import tracing
from app.observability.metrics import render
from tests.metrics_support import sample
from tests.test_agent_engine import calls, checkout, options, price, run_local, scripted, text

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


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


async def test_model_usage_and_tool_calls_are_counted_and_traced(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    repo, issue = checkout(tmp_path)
    script, asked = scripted(
        calls(("list_files", {})),
        calls(("run_command", {"command": "echo hello"})),
        calls(("push_to_github", {"branch": "main"})),  # not a tool the run offers
        text("done"),
    )
    before = render().decode()
    with tracing.span("test"):
        run_id = await run_local(options(tmp_path, repo, issue, script), [])
    after = render().decode()

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    requests = asked[0]
    assert requests == 4 and grew("steward_model_requests_total", model="scripted") == requests
    assert grew("steward_model_tokens_total", model="scripted", direction="input") == 100 * requests
    assert grew("steward_model_tokens_total", model="scripted", direction="output") == 20 * requests
    assert grew("steward_model_cost_total", model="scripted") == pytest.approx(requests * price(100, 20))
    assert grew("steward_agent_tool_calls_total", tool="list_files", outcome="ok") == 1
    assert grew("steward_agent_tool_calls_total", tool="run_command", outcome="ok") == 1
    assert grew("steward_agent_tool_calls_total", tool="other", outcome="refused") == 1
    assert "push_to_github" not in after  # a name the model made up is never a label

    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    models = [span for span in spans if span.name == "model request"]
    assert len(models) == requests
    assert all(span.attributes and span.attributes["gen_ai.usage.input_tokens"] == 100 for span in models)
    (command_tool,) = [span for span in spans if span.name == "tool run_command"]
    under = command_tool.context.span_id
    nested = [s for s in spans if s.name == "sandbox command" and s.parent and s.parent.span_id == under]
    assert len(nested) == 1 and nested[0].attributes and nested[0].attributes["steward.run.id"] == run_id
    assert {span.context.trace_id for span in spans} == {models[0].context.trace_id}
    root = command_tool
    while root.parent is not None:
        root = by_id[root.parent.span_id]
    assert root.name == "test"
    values = " ".join(str(v) for span in spans for v in (span.attributes or {}).values())
    assert "echo hello" not in values and "hello" not in values  # neither the command's text nor its output
