"""Model HTTP on respx: a wire the httpx2-based SDKs can use, and answers shaped like the providers' own."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2
import respx

BASE_URL = "http://127.0.0.1:9/v1"
"""A loopback port nothing listens on: a request respx does not answer fails instead of leaving the host."""
CHAT_URL = f"{BASE_URL}/chat/completions"
ANTHROPIC_BASE_URL = "http://127.0.0.1:9"
MESSAGES_URL = f"{ANTHROPIC_BASE_URL}/v1/messages"


class RespxWire(httpx2.AsyncBaseTransport):
    """Hands requests to a respx router: the OpenAI and Anthropic SDKs use httpx2, unseen by respx."""

    def __init__(self, router: respx.Router) -> None:
        self.router = router

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        legacy = httpx.Request(
            request.method,
            str(request.url),
            headers=list(request.headers.multi_items()),
            content=await request.aread(),
        )
        answer = await self.router.async_handler(legacy)
        return httpx2.Response(
            answer.status_code, headers=list(answer.headers.multi_items()), content=await answer.aread()
        )


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _completion(number: int, message: dict[str, Any], finish: str, usage: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": 1764547200 + number,
            "model": "qwen2.5-coder-7b-instruct",
            "system_fingerprint": "b4567-llama.cpp",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage,
        },
    )


def tool_call(name: str, arguments: dict[str, Any], *, prompt: int, completion: int) -> httpx.Response:
    """A Chat Completions answer that calls one function tool."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
    return _completion(1, message, "tool_calls", _usage(prompt, completion))


def answer(text: str, *, prompt: int, completion: int) -> httpx.Response:
    """A Chat Completions answer in plain text, which ends the run."""
    message = {"role": "assistant", "content": text, "refusal": None}
    return _completion(2, message, "stop", _usage(prompt, completion))


def failure(status: int, *, retry_after: str | None = None) -> httpx.Response:
    """An error the way OpenAI-compatible servers send one."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    kind = "rate_limit_exceeded" if status == 429 else "server_error"
    body = {"error": {"message": f"the server answered {status}", "type": kind, "param": None, "code": kind}}
    return httpx.Response(status, json=body, headers=headers)


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


def _block_events(index: int, block: dict[str, Any]) -> list[str]:
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    return [
        _event("content_block_start", {"index": index, "content_block": start}),
        _event("content_block_delta", {"index": index, "delta": delta}),
        _event("content_block_stop", {"index": index}),
    ]


def anthropic_stream(
    content: list[dict[str, Any]], stop: str, *, prompt: int, completion: int
) -> httpx.Response:
    """An Anthropic Messages answer as server-sent events (pydantic-ai streams a request that may be long)."""
    start_usage = {"input_tokens": prompt, "output_tokens": 1, "cache_creation_input_tokens": 0}
    message: dict[str, Any] = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**start_usage, "cache_read_input_tokens": 0},
    }
    events = [_event("message_start", {"message": message})]
    for index, block in enumerate(content):
        events += _block_events(index, block)
    events.append(
        _event(
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": completion}},
        )
    )
    events.append(_event("message_stop", {}))
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(events).encode()
    )
