"""A stand-in for GitHub on loopback whose answers a fuzz case scripts: path -> (status, content type, body).

The dashboard's sign-in and re-check talk to it over real HTTP (settings point github_web_url and
github_api_url at it); a path the case did not script answers GitHub's 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fake_github_server import METHODS, serve_app


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    body: bytes


NOT_FOUND = Answer(404, "application/json", b'{"message": "Not Found", "status": "404"}')


@dataclass
class GitHubScript:
    base_url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            self.calls.append(f"{request.method} {request.url.path}")
            answer = self.answers.get(request.url.path, NOT_FOUND)
            headers = {"content-type": answer.content_type} if answer.content_type else {}
            return Response(answer.body, status_code=answer.status, headers=headers)

        return Starlette(routes=[Route("/{path:path}", handle, methods=METHODS)])

    def play(self, answers: dict[str, Answer]) -> None:
        self.answers, self.calls = dict(answers), []


@contextmanager
def scripted() -> Iterator[GitHubScript]:
    script = GitHubScript()
    with serve_app(script.app()) as base:
        script.base_url = base
        yield script
