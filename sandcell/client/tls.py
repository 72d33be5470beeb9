"""TLS for clients: the CA that signed the server's certificate, and for mTLS a client certificate."""
from __future__ import annotations

import os
from dataclasses import dataclass

import grpc

__all__ = ["ClientTls"]


def _read(path: str) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


@dataclass(frozen=True)
class ClientTls:
    """Paths of PEM files. `ca_file` empty: the system's roots. `cert_file` + `key_file`: mTLS.
    `server_name`: the name to check the server's certificate against, when it differs from the
    address's host (e.g. connecting to 127.0.0.1 through a tunnel)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""

    @classmethod
    def from_env(cls, environ=os.environ) -> "ClientTls | None":
        """From SANDCELL_TLS_CA, SANDCELL_CLIENT_CERT, SANDCELL_CLIENT_KEY, SANDCELL_TLS_SERVER_NAME;
        None when none is set."""
        tls = cls(environ.get("SANDCELL_TLS_CA", ""), environ.get("SANDCELL_CLIENT_CERT", ""),
                  environ.get("SANDCELL_CLIENT_KEY", ""), environ.get("SANDCELL_TLS_SERVER_NAME", ""))
        return tls if any(vars(tls).values()) else None

    def credentials(self) -> grpc.ChannelCredentials:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("a client certificate needs its key, and a key its certificate")
        return grpc.ssl_channel_credentials(root_certificates=_read(self.ca_file),
                                            private_key=_read(self.key_file),
                                            certificate_chain=_read(self.cert_file))

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("grpc.ssl_target_name_override", self.server_name),) if self.server_name else ()


def secure_channel(address: str, tls: ClientTls | None, options, aio: bool = False):
    """A channel to `address`: TLS when `tls` is given, else plaintext."""
    module = grpc.aio if aio else grpc
    if tls is None:
        return module.insecure_channel(address, options=options)
    return module.secure_channel(address, tls.credentials(), options=tuple(options) + tls.options())
