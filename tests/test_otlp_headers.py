"""STEWARD_OTLP_HEADERS (or its _FILE twin) reaches a real OTLP/HTTP collector on loopback with every export,
is refused at start when malformed without showing a value, and is never logged."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.observability import tracing
from app.settings import Settings, SettingsError, load_settings


class Collector(BaseHTTPRequestHandler):
    """Records each export's path and headers, and answers as a collector does (200, empty body)."""

    seen: list[tuple[str, dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        Collector.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("STEWARD_"):
            monkeypatch.delenv(name)


def test_the_headers_go_with_every_export_and_only_their_names_are_logged(
    clean: None, collector: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    key = secrets.token_hex(16)
    file = tmp_path / "otlp_headers"
    file.write_text(f"Authorization=Bearer%20{key}, x-tenant=steward-test\n")
    monkeypatch.setenv("STEWARD_OTLP_HEADERS_FILE", str(file))
    monkeypatch.setenv("STEWARD_OTLP_ENDPOINT", collector)
    settings = load_settings()
    assert key not in repr(settings)
    caplog.set_level(logging.INFO)
    assert tracing.configure(settings, "steward-test")
    try:
        with tracing.span("exported"):
            pass
    finally:
        tracing.uninstall()  # flushes the batch to the collector
    ((path, headers),) = Collector.seen
    assert path == "/v1/traces"
    assert headers["authorization"] == f"Bearer {key}" and headers["x-tenant"] == "steward-test"
    assert "with headers authorization, x-tenant" in caplog.text and key not in caplog.text


def test_without_headers_none_are_sent(clean: None, collector: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_OTLP_ENDPOINT", collector)
    assert tracing.configure(load_settings(), "steward-test")
    try:
        with tracing.span("exported"):
            pass
    finally:
        tracing.uninstall()
    ((_, headers),) = Collector.seen
    assert "authorization" not in headers


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("authorization", "item 1 is not `name=value`"),
        ("a=1,bad name=2", "item 2 is not `name=value`"),
        ("a=1,b=", "the value of item 2 (b) is empty"),
        ("a=x%0d%0aInjected: yes", "the value of item 1 (a) is empty or holds a line break"),
    ],
)
def test_malformed_headers_are_refused_at_start_without_their_values(
    clean: None, monkeypatch: pytest.MonkeyPatch, given: str, said: str
) -> None:
    monkeypatch.setenv("STEWARD_OTLP_HEADERS", given)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "STEWARD_OTLP_HEADERS" in str(caught.value) and said in str(caught.value)
    assert "Injected" not in str(caught.value) and "x%0d" not in str(caught.value)


def test_a_blank_value_is_unset() -> None:
    assert Settings(otlp_headers="  ").otlp_headers is None  # type: ignore[arg-type]
