"""A loopback stand-in for the Hugging Face Hub: the few HTTP endpoints huggingface_hub calls to
create a repo, commit small files, download a file and read a collection. Tests point
huggingface_hub at it with HF_ENDPOINT; the library itself is real and unmodified.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


class LoopbackHub:
    def __init__(self) -> None:
        # (repo type, repo id) -> {path: bytes}; one commit history per repo (ids only)
        self.repos: dict[tuple[str, str], dict[str, bytes]] = {}
        self.commits: dict[tuple[str, str], list[str]] = {}
        self.collections: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.tokens_seen: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_collection(self, slug: str, space_ids: list[str]) -> None:
        self.collections[slug] = [{"_id": f"item{i}", "id": sid, "type": "space", "position": i}
                                  for i, sid in enumerate(space_ids)]

    def _commit(self, key: tuple[str, str], files: dict[str, bytes]) -> str:
        with self._lock:
            self.repos.setdefault(key, {}).update(files)
            oid = hashlib.sha1(json.dumps(sorted((p, hashlib.sha1(b).hexdigest()) for p, b in
                                                 self.repos[key].items())).encode()).hexdigest()
            self.commits.setdefault(key, []).append(oid)
            return oid

    def _handler(self):
        hub = self
        plural = {"spaces": "space", "models": "model", "datasets": "dataset"}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))

            def _route(self) -> None:
                path = unquote(urlsplit(self.path).path)
                hub.requests.append((self.command, path))
                auth = self.headers.get("Authorization", "")
                if auth:
                    hub.tokens_seen.add(auth.removeprefix("Bearer "))
                parts = path.strip("/").split("/")
                if self.command == "POST" and path == "/api/repos/create":
                    body = json.loads(self._body())
                    repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
                    key = (body.get("type") or "model", repo_id)
                    if key in hub.repos:
                        return self._json(409, {"error": "You already created this repo", "url": ""})
                    hub.repos[key] = {}
                    prefix = {"space": "spaces/", "dataset": "datasets/"}.get(key[0], "")
                    return self._json(200, {"url": f"{hub.endpoint}/{prefix}{repo_id}", "name": repo_id})
                if self.command == "POST" and path == "/api/validate-yaml":
                    self._body()
                    return self._json(200, {"errors": [], "warnings": []})
                if parts[0] == "api" and len(parts) >= 4 and parts[1] in plural:
                    kind, repo_id = plural[parts[1]], f"{parts[2]}/{parts[3]}"
                    key = (kind, repo_id)
                    if key not in hub.repos:
                        return self._json(404, {"error": "Repository not found"},
                                          {"X-Error-Code": "RepoNotFound"})
                    rest = parts[4:]
                    if self.command == "POST" and rest[:1] == ["preupload"]:
                        files = json.loads(self._body())["files"]
                        return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                           "shouldIgnore": False} for f in files]})
                    if self.command == "POST" and rest[:1] == ["commit"]:
                        files = {}
                        for line in self._body().decode().splitlines():
                            item = json.loads(line)
                            if item["key"] == "file":
                                v = item["value"]
                                files[v["path"]] = base64.b64decode(v["content"]) \
                                    if v.get("encoding") == "base64" else v["content"].encode()
                        oid = hub._commit(key, files)
                        return self._json(200, {"commitUrl": f"{hub.endpoint}/{parts[1]}/{repo_id}/commit/{oid}",
                                                "commitOid": oid, "pullRequestUrl": None})
                    if self.command == "GET" and not rest:
                        sha = (hub.commits.get(key) or ["0" * 40])[-1]
                        return self._json(200, {"id": repo_id, "sha": sha, "private": False,
                                                "siblings": [{"rfilename": p} for p in hub.repos[key]]})
                if parts[:2] == ["api", "collections"] and self.command == "GET":
                    slug = "/".join(parts[2:])
                    if slug not in hub.collections:
                        return self._json(404, {"error": "Collection not found"})
                    return self._json(200, {"slug": slug, "title": slug, "owner": {"name": slug.split("/")[0]},
                                            "items": hub.collections[slug], "lastUpdated": "2026-01-01T00:00:00.000Z",
                                            "position": 0, "private": False, "theme": "blue", "upvotes": 0})
                # file download: /spaces/<org>/<name>/resolve/<revision>/<path>
                if len(parts) >= 6 and parts[0] in plural and parts[3] == "resolve":
                    key = (plural[parts[0]], f"{parts[1]}/{parts[2]}")
                    data = hub.repos.get(key, {}).get("/".join(parts[5:]))
                    if data is None:
                        return self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    etag = hashlib.sha1(data).hexdigest()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("ETag", f'"{etag}"')
                    self.send_header("X-Repo-Commit", (hub.commits.get(key) or ["0" * 40])[-1])
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    return
                self._json(404, {"error": f"no route {self.command} {path}"})

            do_GET = do_POST = do_HEAD = _route

        return Handler
