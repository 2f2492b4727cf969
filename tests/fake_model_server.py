"""A scripted OpenAI-compatible model served over HTTP on 127.0.0.1, for agent runs in a worker process
(which respx cannot reach): answers shaped as tests/model_mock.py shapes them.

The script reads the conversation, not a counter, so a worker that dies and starts the run again gets the same
answers: while no tool has answered yet it calls `write_file` once; after a tool's answer it says it is done.
Before any of that it may answer `failures` (status codes, e.g. 502 or a 429 with Retry-After) in turn, and
once it may call `midway` on the request after the first tool call (to kill the worker there)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests import model_mock

MODEL = "qwen2.5-coder-7b-instruct"
PRICES = '{"input_per_mtok": 0, "output_per_mtok": 0}'


@dataclass
class ScriptedModel:
    path: str
    content: str
    failures: list[int] = field(default_factory=list)
    """Status codes answered, one per request, before the script's own answers."""
    midway: Callable[[], None] | None = None
    """Called once, on the first request that carries a tool's answer (the tool has acted by then)."""
    requests: int = 0
    failed: int = 0

    def env(self, base_url: str) -> dict[str, str]:
        """The worker's settings that make this server its model (the agent engine's)."""
        return {
            "STEWARD_MODEL_PROVIDER": "openai",
            "STEWARD_MODEL_BASE_URL": f"{base_url}/v1",
            "STEWARD_MODEL_NAME": MODEL,
            "STEWARD_MODEL_PRICES": PRICES,
        }

    def answer(self, body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
        self.requests += 1
        if self.failed < len(self.failures):
            status = self.failures[self.failed]
            self.failed += 1
            shaped = model_mock.failure(status, retry_after="1" if status == 429 else None)
            return shaped.status_code, shaped.content, dict(shaped.headers)
        answered = any(message.get("role") == "tool" for message in body.get("messages", []))
        if answered and self.midway is not None:
            midway, self.midway = self.midway, None
            midway()
        if answered:
            done = model_mock.answer(f"Wrote {self.path}.", prompt=400, completion=12)
        else:
            args = {"path": self.path, "content": self.content}
            done = model_mock.tool_call("write_file", args, prompt=300, completion=40)
        return done.status_code, done.content, {"content-type": "application/json"}

    def app(self) -> Starlette:
        async def chat(request: Request) -> Response:
            status, content, headers = self.answer(json.loads(await request.body()))
            kept = {k: v for k, v in headers.items() if k in ("content-type", "retry-after")}
            return Response(content, status_code=status, headers=kept)

        return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
