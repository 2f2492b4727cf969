"""Every ignored delivery says why in X-Steward-Reason: each path that queues nothing, handler or receiver."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.handlers.commands import might_hold_command
from app.settings import Settings
from app.web.app import create_app
from tests.conftest import WEBHOOK_EXAMPLES, command_comment, load_payload
from tests.test_webhook_support import accepted, encode, github_headers, queued_job_ids

INSTALLATION = {"id": 4242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="}
NO_SCOPE = "no installation or repository in the payload"
NOT_DUPLICATE = 'not a person\'s comment saying "duplicate of"'


def installed(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "installation": INSTALLATION}


def own_comment() -> dict[str, Any]:
    payload = installed(command_comment("/steward help"))
    payload["comment"]["user"] = {**payload["comment"]["user"], "login": "steward[bot]", "type": "Bot"}
    return payload


def without_installation(event: str, name: str) -> dict[str, Any]:
    payload = load_payload(event, name)
    payload.pop("installation", None)
    return payload


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("no installation", "issue_comment", command_comment(name="created"), f"{NO_SCOPE}; {NOT_DUPLICATE}"),
    (
        "conversation",
        "issue_comment",
        installed(command_comment("thanks!")),
        f'no line of the comment starts with "/"; {NOT_DUPLICATE}',
    ),
    ("own comment", "issue_comment", own_comment(), f"Steward's own comment; {NOT_DUPLICATE}"),
    (
        "installation event without one",
        "installation",
        without_installation("installation", "created"),
        "no installation in the payload",
    ),
    ("opened issue, no installation", "issues", without_installation("issues", "opened"), NO_SCOPE),
    ("unrouted event", "ping", json.loads((WEBHOOK_EXAMPLES / "ping/payload.json").read_text()), ""),
    ("unrouted action", "issue_comment", load_payload("issue_comment", "edited"), ""),
    (
        "unreadable, unrouted",
        "issues",
        {"action": "pinned", "issue": 7},
        "Steward does not act on issues.pinned",
    ),
    ("lacking fields", "issues", {"action": "opened"}, "payload does not have the fields Steward reads"),
]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize(("event", "payload", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_ignored_answer_says_why(
    client: TestClient, redis_url: str, event: str, payload: dict[str, Any], reason: str
) -> None:
    body = encode(payload)
    response = client.post("/webhooks", content=body, headers=github_headers(body, event))
    action = payload.get("action")
    expected = reason or f"Steward does not act on {event}{'.' + action if action else ''}"
    assert accepted(response) == {"outcome": "ignored", "reason": expected}
    assert queued_job_ids(redis_url) == []


def test_an_event_name_is_made_safe_in_the_reason(client: TestClient) -> None:
    body = encode({"action": "x" * 500})
    headers: dict[str, Any] = github_headers(body, "placeholder")
    headers["X-GitHub-Event"] = "odd event\u00e9".encode("latin-1")
    response = client.post("/webhooks", content=body, headers=headers)
    reason = accepted(response)["reason"]
    assert re.fullmatch(r"Steward does not act on odd\?event\?+\.x+", reason), reason
    assert len(reason) < 120


@pytest.mark.parametrize(
    "body",
    [
        "/x",
        "  /x",
        "a\n /x",
        "a\r/x",
        "a\u2028/x",
        "a /x",
        "",
        " ",
        "a\n\n\t/x",
        "x/y",
        "a\x0c/b",
        "a\x85 /b",
    ],
)
def test_the_slash_check_reads_lines_as_splitlines_does(body: str) -> None:
    """The receiver's "could this hold a command" check finds no list of lines, yet agrees with one."""
    assert might_hold_command(body) == any(line.lstrip().startswith("/") for line in body.splitlines())
