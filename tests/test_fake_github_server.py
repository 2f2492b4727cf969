"""The HTTP fake GitHub itself: a listing past one page is followed on the fake, not on api.github.com.

A paginated answer's `link` header named GitHub's host, so a worker process following it left loopback and
failed ("cannot reach GitHub"); the soak bench's long threads hit it once a listing passed 100 comments.
"""

from __future__ import annotations

import httpx

from tests.fake_github_server import serve
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
