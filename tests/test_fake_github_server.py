"""The HTTP fake GitHub itself: a listing past one page is followed on the fake, not on api.github.com.

A paginated answer's `link` header named GitHub's host, so a worker process following it left loopback and
failed ("cannot reach GitHub"); the soak bench's long threads hit it once a listing passed 100 comments.
"""

from __future__ import annotations

from typing import Any

import httpx
import respx

from tests.fake_github_server import make_app, serve, serve_app
from tests.github_mock import FakeGitHub


def test_every_page_of_a_long_listing_is_served_by_the_fake() -> None:
    github = FakeGitHub()
    for n in range(150):
        github.add_comment(7, f"comment {n}", "someone")
    with serve(github) as (base, calls):
        url: str | None = f"{base}/repos/{github.full}/issues/7/comments?per_page=100"
        bodies: list[str] = []
        while url is not None:
            answer = httpx.get(url, timeout=10)
            assert answer.status_code == 200, answer.text
            bodies += [c["body"] for c in answer.json()]
            nxt = answer.links.get("next", {}).get("url")
            assert nxt is None or nxt.startswith(base), nxt
            url = nxt
    assert bodies == [f"comment {n}" for n in range(150)]
    assert calls == [f"GET /repos/{github.full}/issues/7/comments"] * 2


def test_the_fake_keeps_no_request_it_has_answered() -> None:
    """respx records each call on its route: over a soak's 300,000 requests the fake grew to 6 GiB."""
    github = FakeGitHub()
    calls: list[str] = []
    app = make_app(github, calls)
    with serve_app(app) as base:
        for _ in range(3):
            assert httpx.get(f"{base}/repos/{github.full}/issues/7/comments", timeout=10).status_code == 200
    assert calls == [f"GET /repos/{github.full}/issues/7/comments"] * 3  # the test's own record stays
    router = next(cell.cell_contents for cell in _handler(app).__closure__ or () if _is_router(cell))
    assert router.calls.call_count == 0 and all(route.call_count == 0 for route in router.routes)


def _handler(app: Any) -> Any:
    [route] = app.routes
    return route.endpoint


def _is_router(cell: Any) -> bool:
    try:
        return isinstance(cell.cell_contents, respx.MockRouter)
    except ValueError:
        return False
