"""TLS for the server: certificate, key and (for mTLS) client CA from files, reloaded without a restart.

grpc asks `_Reloader.fetch` at each new handshake; it answers with a new configuration only
when one of the files changed (one stat each), so a renewed certificate is served to the next
connection, and connections already open keep theirs.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import grpc

__all__ = ["TlsFiles", "server_credentials"]

log = logging.getLogger("sandcell.server")


@dataclass(frozen=True)
class TlsFiles:
    cert: str
    key: str
    client_ca: str = ""  # set: clients must present a certificate this CA signed (mTLS)


class _Reloader:
    def __init__(self, files: TlsFiles):
        self.files = files
        self._stamp = self._stat()

    def _paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.files.cert, self.files.key, self.files.client_ca) if p)

    def _stat(self) -> tuple:
        out = []
        for path in self._paths():
            try:
                st = os.stat(path)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append(None)
        return tuple(out)

    def config(self):
        def read(path: str) -> bytes:
            with open(path, "rb") as f:
                return f.read()
        ca = read(self.files.client_ca) if self.files.client_ca else None
        return grpc.ssl_server_certificate_configuration(
            [(read(self.files.key), read(self.files.cert))], root_certificates=ca)

    def fetch(self):
        stamp = self._stat()
        if stamp == self._stamp:
            return None  # unchanged: grpc keeps the current configuration
        try:
            config = self.config()
        except OSError as exc:  # mid-rotation (one file replaced, the other not yet): keep serving the old
            log.warning("TLS files unreadable, keeping the current certificate",
                        extra={"event": "tls_reload_failed", "error": str(exc)})
            return None
        self._stamp = stamp
        log.info("TLS certificate reloaded", extra={"event": "tls_reloaded", "cert": self.files.cert})
        return config


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    reloader = _Reloader(files)
    return grpc.dynamic_ssl_server_credentials(reloader.config(), reloader.fetch,
                                               require_client_authentication=bool(files.client_ca))
