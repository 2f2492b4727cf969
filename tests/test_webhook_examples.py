"""Every real webhook example, correctly signed, is acknowledged with a 2xx and never crashes the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.app import create_app
from tests.conftest import WEBHOOK_EXAMPLES
from tests.test_webhook_support import accepted, github_headers

EXAMPLES = sorted(WEBHOOK_EXAMPLES.rglob("*.json"))


def test_all_examples_are_present() -> None:
    assert len(EXAMPLES) == 273


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_signed_example_gets_2xx(client: TestClient, path: Path) -> None:
    body = path.read_bytes()
    response = client.post("/webhooks", content=body, headers=github_headers(body, event=path.parent.name))
    assert 200 <= response.status_code < 300, response.text
    answer = accepted(response)
    assert answer["outcome"] == "ignored" or (answer["outcome"] == "queued" and answer["jobs"]), answer
    if answer["outcome"] == "ignored":
        assert answer["reason"].strip(), answer  # every ignored answer says why
