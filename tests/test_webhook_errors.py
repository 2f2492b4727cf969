"""Each bad delivery gets its own status and a JSON error, and nothing reaches the job queue."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.router import Delivery, JobSpec, Router
from app.settings import Settings
from app.web.app import create_app
from tests.conftest import WEBHOOK_SECRET, command_comment
from tests.test_webhook_support import (
    accepted,
    encode,
    github_headers,
    live_server,
    queued_job_ids,
    signature,
)

GITHUB_CAP = 25 * 1024 * 1024
MB = 1024 * 1024


@pytest.fixture
def comment() -> bytes:
    """A delivery that would be enqueued if it were accepted."""
    return encode(command_comment())


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_good_delivery_is_enqueued_and_logged_without_secrets(
    client: TestClient, comment: bytes, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/webhooks", content=comment, headers=github_headers(comment, "issue_comment", "d-ok")
        )
    assert response.status_code == 202
    assert queued_job_ids(redis_url) == accepted(response)["jobs"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "queued issue_comment.created delivery=d-ok repo=Codertocat/Hello-World" in logged
    assert WEBHOOK_SECRET not in logged
    assert json.loads(comment)["comment"]["body"] not in logged


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "missing X-Hub-Signature-256 header"),
        ("sha256=" + "0" * 64, "X-Hub-Signature-256 does not match the body"),
        ("sha1=", "X-Hub-Signature-256 must be an sha256= signature"),
        (
            "sha256=not-hex-and-not-ascii-\u00e9",
            "X-Hub-Signature-256 does not match the body",
        ),  # sent as latin-1
    ],
    ids=["missing", "wrong", "sha1", "garbage"],
)
def test_bad_signature_is_401_and_nothing_is_enqueued(
    client: TestClient, comment: bytes, redis_url: str, header: str | None, expected: str
) -> None:
    headers = {k.encode(): v.encode() for k, v in github_headers(comment, "issue_comment").items()}
    del headers[b"X-Hub-Signature-256"]
    if header == "sha1=":
        header = signature(comment, algorithm="sha1")  # a correct sha1 signature is still refused
    if header is not None:
        headers[b"X-Hub-Signature-256"] = header.encode("latin-1")
    response = client.post("/webhooks", content=comment, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": expected}
    assert queued_job_ids(redis_url) == []


def test_signature_made_with_another_secret_is_401(
    client: TestClient, comment: bytes, redis_url: str
) -> None:
    headers = github_headers(comment, "issue_comment")
    headers["X-Hub-Signature-256"] = signature(comment, secret="another-secret")
    assert client.post("/webhooks", content=comment, headers=headers).status_code == 401
    assert queued_job_ids(redis_url) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"action": "created", ', "body is not valid JSON"),
        (b"\xff\xfe not utf-8", "body is not valid JSON"),
        (b"[1, 2, 3]", "body must be a JSON object"),
        (b"", "body is not valid JSON"),
    ],
    ids=["truncated", "binary", "array", "empty"],
)
def test_malformed_body_is_400(client: TestClient, redis_url: str, body: bytes, expected: str) -> None:
    response = client.post("/webhooks", content=body, headers=github_headers(body, "issue_comment"))
    assert response.status_code == 400
    assert response.json() == {"error": expected}
    assert queued_job_ids(redis_url) == []


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("X-GitHub-Event", "missing X-GitHub-Event header"),
        ("X-GitHub-Delivery", "missing X-GitHub-Delivery header"),
    ],
)
def test_missing_github_header_is_400(
    client: TestClient, comment: bytes, redis_url: str, missing: str, expected: str
) -> None:
    headers = github_headers(comment, "issue_comment")
    del headers[missing]
    response = client.post("/webhooks", content=comment, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": expected}
    assert queued_job_ids(redis_url) == []


def test_body_over_the_limit_is_413(settings: Settings, comment: bytes, redis_url: str) -> None:
    small = settings.model_copy(update={"max_body_bytes": len(comment) - 1})
    with TestClient(create_app(small)) as client:
        declared = client.post("/webhooks", content=comment, headers=github_headers(comment, "issue_comment"))
        chunks = (comment[i : i + 100] for i in range(0, len(comment), 100))
        streamed = client.post("/webhooks", content=chunks, headers=github_headers(comment, "issue_comment"))
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert declared.json() == {"error": f"body is larger than {len(comment) - 1} bytes"}
    assert queued_job_ids(redis_url) == []


def test_body_at_the_limit_is_accepted(settings: Settings, comment: bytes, redis_url: str) -> None:
    exact = settings.model_copy(update={"max_body_bytes": len(comment)})
    with TestClient(create_app(exact)) as client:
        response = client.post("/webhooks", content=comment, headers=github_headers(comment, "issue_comment"))
    assert response.status_code == 202


def test_declared_length_over_25mb_is_refused_before_the_body(settings: Settings) -> None:
    head = b'{"pad": "'
    headers = github_headers(head, "issue_comment") | {"Content-Length": str(GITHUB_CAP + 1)}
    request = "POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    with live_server(create_app(settings)) as url:
        host, port = url.removeprefix("http://").split(":")
        # Only a few bytes follow the headers: a receiver that waited for the declared body would time out.
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request.encode() + b"\r\n" + head)
            status_line = sock.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 413 ")


def test_chunked_body_over_25mb_is_cut_off_without_reading_it_all(settings: Settings, redis_url: str) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        chunk = b" " * MB
        while sent < 4 * GITHUB_CAP:  # a bound, in case the receiver kept reading
            sent += len(chunk)
            yield chunk

    with live_server(create_app(settings)) as url, httpx.Client(timeout=60) as http:
        headers = github_headers(b"unknowable", "issue_comment")
        response = http.post(f"{url}/webhooks", content=endless(), headers=headers)
    assert "content-length" not in {k.lower() for k in headers}
    assert response.status_code == 413
    assert response.json() == {"error": f"body is larger than {GITHUB_CAP} bytes"}
    assert GITHUB_CAP < sent < 2 * GITHUB_CAP
    assert queued_job_ids(redis_url) == []


def test_routed_event_missing_fields_is_acknowledged_and_ignored(
    client: TestClient, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    payload = command_comment()
    payload["comment"] = "not an object"
    body = encode(payload)
    response = client.post("/webhooks", content=body, headers=github_headers(body, "issue_comment", "d-odd"))
    said = accepted(response)
    assert said == {"outcome": "ignored", "reason": "payload does not have the fields Steward reads"}
    assert queued_job_ids(redis_url) == []
    [record] = [r for r in caplog.records if "delivery=d-odd" in r.getMessage()]
    assert "payload lacks fields Steward reads (comment)" in record.getMessage()


def test_a_crashing_handler_still_gets_a_2xx(
    settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Router()

    @broken.register("issue_comment", action="created")
    def explode(delivery: Delivery[Any]) -> list[JobSpec]:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr("app.web.app.build_router", lambda _settings: broken)
    body = encode(command_comment())
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/webhooks", content=body, headers=github_headers(body, "issue_comment", "d-bug")
        )
    assert accepted(response) == {
        "outcome": "ignored",
        "reason": "internal error while routing; see the service log",
    }
    assert queued_job_ids(redis_url) == []
    assert any("delivery=d-bug" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_client_gone_mid_body_is_logged_and_nothing_is_enqueued(
    settings: Settings, comment: bytes, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = github_headers(comment, "issue_comment", "d-gone") | {"Content-Length": str(len(comment))}
    request = "POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    with caplog.at_level(logging.INFO, logger="steward.web"), live_server(create_app(settings)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request.encode() + b"\r\n" + comment[:100])  # then hang up mid-body
        deadline = time.monotonic() + 10
        while not any("d-gone" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.01)
    [record] = [r for r in caplog.records if "d-gone" in r.getMessage()]
    assert "client went away" in record.getMessage()
    assert record.exc_info is None
    assert queued_job_ids(redis_url) == []


def test_only_post_reaches_the_receiver_and_other_paths_are_fastapis(
    client: TestClient, comment: bytes, redis_url: str
) -> None:
    """WebhookEdge serves POST /webhooks ahead of FastAPI; every other request still gets FastAPI's answer."""
    headers = github_headers(comment, "issue_comment", "d-method")
    assert client.get("/webhooks").status_code == 405
    assert client.put("/webhooks", content=comment, headers=headers).status_code == 405
    assert client.post("/elsewhere", content=comment, headers=headers).status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    assert queued_job_ids(redis_url) == []
    moved = client.post("/webhooks/", content=comment, headers=headers, follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"].endswith("/webhooks")
    assert client.post("/webhooks", content=comment, headers=headers).status_code == 202
    assert len(queued_job_ids(redis_url)) == 1


def test_at_info_the_receiver_logs_what_went_otherwise_not_each_queued_delivery(
    client: TestClient, comment: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker logs every job with its delivery id; the receiver's INFO log is for the exceptions."""
    headers = github_headers(comment, "issue_comment", "d-info")
    with caplog.at_level(logging.INFO, logger="steward.web"):
        assert accepted(client.post("/webhooks", content=comment, headers=headers))["outcome"] == "queued"
        assert [r for r in caplog.records if "d-info" in r.getMessage()] == []
        assert accepted(client.post("/webhooks", content=comment, headers=headers))["outcome"] == "duplicate"
    [line] = [r.getMessage() for r in caplog.records if "d-info" in r.getMessage()]
    assert line.startswith("duplicate issue_comment.created delivery=d-info")


@pytest.mark.parametrize(
    "delivery",
    ["d ok", "trailing ", " leading", 'quote"d', "caf\u00e9", "x" * 101, "-starts-with-dash", "a/b"],
    ids=["space", "trailing-space", "leading-space", "quote", "non-ascii", "too-long", "dash", "slash"],
)
def test_a_delivery_id_that_is_not_one_is_400_even_when_signed(
    client: TestClient, comment: bytes, redis_url: str, delivery: str
) -> None:
    """The header is not signed, and the id goes into Redis keys, job ids, logs and an answer header."""
    headers = {k.encode(): v.encode() for k, v in github_headers(comment, "issue_comment").items()}
    headers[b"X-GitHub-Delivery"] = delivery.encode("latin-1")
    response = client.post("/webhooks", content=comment, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "X-GitHub-Delivery is not a delivery id"}
    assert queued_job_ids(redis_url) == []


def test_a_github_uuid_and_a_tool_chosen_id_are_delivery_ids(
    client: TestClient, comment: bytes, redis_url: str
) -> None:
    for delivery in ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "replayed-1.retry:2"):
        headers = github_headers(comment, "issue_comment", delivery)
        assert accepted(client.post("/webhooks", content=comment, headers=headers))["outcome"] in {
            "queued",
            "duplicate",
        }
    assert len(queued_job_ids(redis_url)) == 1  # one comment: the second delivery is the same job


def test_payload_text_in_a_job_id_cannot_break_the_answer(client: TestClient, redis_url: str) -> None:
    """A pull request's head sha is payload text that ends up in a job id, hence in X-Steward-Jobs."""
    from tests.conftest import load_payload

    payload = load_payload("pull_request", "synchronize")
    payload["installation"] = {"id": 1}
    payload["pull_request"]["head"].update(ref="steward/docs/7", sha="abc def\u00e9")  # one of Steward's PRs
    body = encode(payload)
    response = client.post("/webhooks", content=body, headers=github_headers(body, "pull_request", "d-sha"))
    said = accepted(response)
    assert said["outcome"] == "queued" and all(" " not in job for job in said["jobs"])
    assert any(job.endswith("abc?def?") for job in said["jobs"]), said
