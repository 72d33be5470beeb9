"""A loopback HTTP server for the networked tools' tests: fixed routes serving recorded pages
(tests/agent/recorded/), and every request it got, so a test can check what the real client
library sent."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).parent / "recorded"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]


# a route: (method, path) -> (status, content type, body) or a function of the request giving that
Route = tuple[int, str, bytes] | Callable[[Seen], tuple[int, str, bytes]]


class LoopbackWeb:
    def __init__(self, routes: dict[tuple[str, str], Route]):
        self.routes = routes
        self.seen: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LoopbackWeb":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _handler(self):
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                form = parse_qs(body.decode("utf-8", "replace")) if body else {}
                seen = Seen(method, parts.path, parse_qs(parts.query), form,
                            {k.lower(): v for k, v in self.headers.items()})
                web.seen.append(seen)
                route = web.routes.get((method, parts.path))
                if route is None:
                    status, ctype, data = 404, "text/plain", b"not found"
                else:
                    status, ctype, data = route(seen) if callable(route) else route
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler


def recorded(name: str, ctype: str = "text/html; charset=utf-8") -> tuple[int, str, bytes]:
    return 200, ctype, (RECORDED / name).read_bytes()
