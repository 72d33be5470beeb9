"""A loopback OpenAI-compatible chat-completions server that answers with scripted replies."""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: a completion (content and/or tool calls), or an HTTP error."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments"}]
    status: int = 200
    error_body: dict[str, Any] | None = None
    prompt_tokens: int = 11
    completion_tokens: int = 7
    retry_after: str | None = None  # the Retry-After header of an error reply
    # Streaming (a request with "stream": true): the content goes out in pieces of this many
    # characters, one server-sent event each, with this pause between events.
    chunk_chars: int = 4
    chunk_delay_s: float = 0.0


def text(content: str) -> Reply:
    return Reply(content=content)


def calls(*pairs: tuple[str, dict[str, Any]]) -> Reply:
    return Reply(tool_calls=[{"name": n, "arguments": a} for n, a in pairs])


def error(status: int, message: str = "scripted error", retry_after: str | None = None) -> Reply:
    return Reply(status=status, error_body={"error": {"message": message, "type": "scripted", "code": status}},
                 retry_after=retry_after)


class ScriptedLLM:
    """Holds the script and every request received. `script(...)` replaces the script."""

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []  # time.monotonic() of each request, to check backoff waits
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies = deque(replies)
            self.requests.clear()
            self.headers.clear()
            self.times.clear()

    def remaining(self) -> int:
        return len(self._replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.times.append(time.monotonic())
            if not self._replies:
                return error(500, "script exhausted")
            return self._replies.popleft()

    def _handler(self):
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                # Azure puts the deployment in the path and the API version in the query
                if not self.path.split("?", 1)[0].endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers[":path"] = self.path
                reply = llm._next(body, headers)
                if reply.status != 200:
                    return self._send(reply.status, reply.error_body or {}, reply.retry_after)
                if body.get("stream"):
                    return self._stream(body, reply)
                self._send(200, completion(body.get("model", "scripted"), reply))

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                """Server-sent events, as OpenAI streams: chunked transfer, one event per piece."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                include_usage = (body.get("stream_options") or {}).get("include_usage", False)
                for i, event in enumerate(stream_chunks(body.get("model", "scripted"), reply, include_usage)):
                    if i and reply.chunk_delay_s:
                        time.sleep(reply.chunk_delay_s)
                    data = f"data: {json.dumps(event) if event is not None else '[DONE]'}\n\n".encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _send(self, status: int, payload: dict[str, Any], retry_after: str | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", retry_after or "0")
                self.end_headers()
                self.wfile.write(data)

        return Handler


def completion(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
            for i, c in enumerate(reply.tool_calls)]
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
    }


def stream_chunks(model: str, reply: Reply, include_usage: bool) -> list[dict[str, Any] | None]:
    """The `chat.completion.chunk` events for a reply (None stands for the final [DONE])."""
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events: list[dict[str, Any] | None] = [chunk({"role": "assistant", "content": ""})]
    content = reply.content or ""
    n = max(1, reply.chunk_chars)
    events += [chunk({"content": content[i:i + n]}) for i in range(0, len(content), n)]
    for i, c in enumerate(reply.tool_calls):
        args = json.dumps(c["arguments"])
        events.append(chunk({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                             "function": {"name": c["name"], "arguments": ""}}]}))
        events += [chunk({"tool_calls": [{"index": i, "function": {"arguments": args[j:j + n]}}]})
                   for j in range(0, len(args), n)]
    events.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
    if include_usage:
        events.append({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()),
                       "model": model, "choices": [],
                       "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                                 "total_tokens": reply.prompt_tokens + reply.completion_tokens}})
    events.append(None)
    return events
