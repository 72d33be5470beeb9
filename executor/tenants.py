"""Who is calling: tenants from bearer tokens (one token, or a credentials file) and mTLS certificates.

A tenant is the principal a credential belongs to. Sessions belong to the tenant that created
them; quotas are counted per tenant. The credentials file has one tenant per line:

    # tenant   token                 quota overrides (optional; 0 or absent: the server's)
    alice      9Vq...long-random...  sessions=10 executes=4 cpu_s_per_min=120
    bob        sha256:3b1f...        executes=2
    ci-bot     -                     sessions=50      # no token: overrides for an mTLS tenant

A token may be written as `sha256:<hex>` so the file need not hold it in the clear. Only the
SHA-256 of each token is kept in memory. The file is re-read when it changes (checked on
every call, one stat) and on SIGHUP, so removing a line revokes that token at the next call.

`Authenticator.resolve(metadata, auth_context)` is the one place a caller becomes a tenant;
it needs nothing but the call's metadata and its TLS peer identity, so any front (the gRPC
servicer, a forwarding replica) can use it. A replica that forwards a call to the session's
owner sends the peer token as its bearer and the tenant it resolved in `x-sandcell-tenant`
(FORWARDED_TENANT); only a caller holding the peer token may name a tenant that way.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import threading
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from executor.errors import AuthenticationError

__all__ = ["Tenant", "TenantQuotas", "Authenticator", "CredentialsError", "parse_credentials", "server_quotas", "authenticator_for",
           "DEFAULT_TENANT", "FORWARDED_TENANT", "audit", "is_loopback"]

log = logging.getLogger("sandcell.server")
audit_log = logging.getLogger("sandcell.audit")
audit_log.setLevel(logging.INFO)  # audit lines are kept whatever --log-level quiets
DEFAULT_TENANT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")
FORWARDED_TENANT = "x-sandcell-tenant"  # metadata a peer replica names the original caller's tenant in
_QUOTA_KEYS = {"sessions": "max_sessions", "executes": "max_concurrent_executes",
               "cpu_s_per_min": "cpu_seconds_per_minute", "nice": "nice"}


@dataclass(frozen=True)
class TenantQuotas:
    """A tenant's limits; 0 means unlimited except where the server's own limit applies."""

    max_sessions: int = 0
    max_concurrent_executes: int = 0
    cpu_seconds_per_minute: float = 0.0
    nice: int = 0  # how much nicer than the server the tenant's session workers run (0..19)

    def over(self, base: "TenantQuotas") -> "TenantQuotas":
        """These overrides on top of `base`: each nonzero field here wins."""
        return replace(base, **{k: v for k, v in vars(self).items() if v})


@dataclass(frozen=True)
class Tenant:
    name: str
    quotas: TenantQuotas
    via: str = "none"  # how it was identified: none, token, tokens-file, mtls


class CredentialsError(ValueError):
    """The credentials file is malformed (the message names the line, never a token)."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_credentials(text: str) -> tuple[dict[bytes, str], dict[str, TenantQuotas]]:
    """(token digest -> tenant, tenant -> quota overrides) from a credentials file's text."""
    tokens: dict[bytes, str] = {}
    quotas: dict[str, TenantQuotas] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2:
            raise CredentialsError(f"line {number}: expected '<tenant> <token or -> [key=value ...]'")
        name, secret, extras = parts[0], parts[1], parts[2:]
        if not _NAME.match(name):
            raise CredentialsError(f"line {number}: the tenant name must match {_NAME.pattern}")
        overrides = {}
        # Messages never echo the file's text: a misplaced token must not end up in a log.
        for position, item in enumerate(extras, 3):
            key, _, value = item.partition("=")
            if key not in _QUOTA_KEYS:
                raise CredentialsError(f"line {number}, field {position}: unknown setting; "
                                       f"known: {', '.join(k + '=' for k in _QUOTA_KEYS)}")
            try:
                overrides[_QUOTA_KEYS[key]] = float(value) if key == "cpu_s_per_min" else int(value)
            except ValueError:
                raise CredentialsError(f"line {number}: {key}= needs a number") from None
        if overrides.get("nice", 0) not in range(0, 20):
            raise CredentialsError(f"line {number}: nice must be 0..19")
        quotas[name] = TenantQuotas(**overrides).over(quotas.get(name, TenantQuotas()))
        if secret != "-":
            if secret.startswith("sha256:"):
                try:
                    digest = bytes.fromhex(secret[7:])
                except ValueError:
                    digest = b""
                if len(digest) != 32:
                    raise CredentialsError(f"line {number}: sha256: must be followed by 64 hex digits")
            else:
                if len(secret) < 16:
                    raise CredentialsError(f"line {number}: the token is shorter than 16 characters")
                digest = _digest(secret)
            if digest in tokens:
                raise CredentialsError(f"line {number}: this token is already given to another line")
            tokens[digest] = name
    return tokens, quotas


class _CredentialsFile:
    """A credentials file, re-read whenever its identity (inode, size, mtime) changes."""

    def __init__(self, path: str):
        self.path = path
        self._stamp: tuple | None = None
        self._lock = threading.Lock()
        self.tokens: dict[bytes, str] = {}
        self.quotas: dict[str, TenantQuotas] = {}
        self.reload(force=True)
        if not self.tokens and not self.quotas:
            log.warning("the credentials file names no tenant: every call will be refused",
                        extra={"event": "credentials_empty", "path": path})

    def reload(self, force: bool = False) -> None:
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError as exc:
            stamp = ("missing", str(exc))
        if stamp == self._stamp and not force:
            return
        with self._lock:
            if stamp == self._stamp and not force:
                return
            try:
                with open(self.path) as f:
                    tokens, quotas = parse_credentials(f.read())
            except (OSError, CredentialsError) as exc:
                if force and self._stamp is None:
                    raise CredentialsError(f"credentials file {self.path}: {exc}") from None
                # Fail closed: a half-written or unreadable file must not leave a revoked token working.
                tokens, quotas = {}, {}
                log.error("credentials file unusable: every token is refused until it is fixed",
                          extra={"event": "credentials_error", "path": self.path, "error": str(exc)})
            self.tokens, self.quotas, self._stamp = tokens, quotas, stamp
            log.info("credentials loaded", extra={"event": "credentials_loaded", "path": self.path,
                                                  "tenants": sorted(set(tokens.values()) | set(quotas))})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Maps a call's credentials to a Tenant, or refuses it (AuthenticationError)."""

    def __init__(self, *, token: str = "", tokens_file: str = "", mtls: bool = False,
                 defaults: TenantQuotas = TenantQuotas(), peer_token: str = ""):
        self.defaults = defaults
        self.mtls = mtls
        self._single = _digest(token) if token else None
        self._peer = _digest(peer_token) if peer_token else None
        self._file = _CredentialsFile(tokens_file) if tokens_file else None
        self.enabled = bool(token or tokens_file or mtls)
        self._anonymous = Tenant(DEFAULT_TENANT, defaults)

    def reload(self) -> None:
        """Re-reads the credentials file now (SIGHUP)."""
        if self._file is not None:
            self._file.reload(force=True)

    def _tenant(self, name: str, via: str) -> Tenant:
        overrides = self._file.quotas.get(name) if self._file is not None else None
        return Tenant(name, overrides.over(self.defaults) if overrides else self.defaults, via)

    def resolve(self, metadata: Iterable[tuple[str, str | bytes]],
                auth_context: Mapping[str, list[bytes]] | None = None) -> Tenant:
        """The tenant of a call from its metadata and TLS peer identity (grpc's auth_context)."""
        if not self.enabled:
            return self._anonymous
        bearer = forwarded = None
        for key, value in metadata:
            if key == "authorization":
                bearer = value if isinstance(value, str) else value.decode(errors="replace")
            elif key == FORWARDED_TENANT:
                forwarded = value if isinstance(value, str) else value.decode(errors="replace")
        if bearer is not None:
            if not bearer.startswith("Bearer "):
                raise AuthenticationError("the authorization metadata must be 'Bearer <token>'")
            digest = _digest(bearer[7:])
            if self._peer is not None and hmac.compare_digest(digest, self._peer):
                if forwarded is None or not _NAME.match(forwarded):
                    raise AuthenticationError(f"a peer's call must name its tenant in {FORWARDED_TENANT!r} metadata")
                if self._file is not None:
                    self._file.reload()
                return self._tenant(forwarded, "peer")
            if self._single is not None and hmac.compare_digest(digest, self._single):
                return self._tenant(DEFAULT_TENANT, "token")
            if self._file is not None:
                self._file.reload()
                name = None
                for known, owner in self._file.tokens.items():  # every entry, constant time each
                    if hmac.compare_digest(digest, known):
                        name = owner
                if name is not None:
                    return self._tenant(name, "tokens-file")
            raise AuthenticationError("the bearer token is not valid (wrong, or revoked)")
        if self.mtls and auth_context:
            name = _cert_identity(auth_context)
            if name:
                if self._file is not None:
                    self._file.reload()
                return self._tenant(name, "mtls")
        raise AuthenticationError("this server requires a credential: send a bearer token as metadata "
                                  "'authorization: Bearer <token>'" + (" or a client certificate" if self.mtls else ""))


def _cert_identity(auth_context: Mapping[str, list[bytes]]) -> str:
    """The tenant named by a verified client certificate: its subject CN, else its first SAN."""
    for key in ("x509_common_name", "x509_subject_alternative_name"):
        for value in auth_context.get(key) or ():
            name = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if _NAME.match(name):
                return name
    return ""


def audit(event: str, tenant: str, **fields: object) -> None:
    """One audit line (logger sandcell.audit): who did what. Never pass a secret here."""
    audit_log.info(event.replace("_", " "), extra={"event": event, "tenant": tenant, **fields})


def server_quotas(config) -> TenantQuotas:
    """Every tenant's quotas before its own overrides, from the server's settings (ServerConfig)."""
    slots = config.max_concurrent_executes
    multi = bool(config.tokens_file or config.tls_client_ca)
    # With several tenants, a quarter of the slots stay free for others whatever one tenant runs.
    executes = config.tenant_max_concurrent_executes or (max(1, slots * 3 // 4) if multi else slots)
    return TenantQuotas(max_sessions=config.tenant_max_sessions or config.max_sessions,
                        max_concurrent_executes=executes,
                        cpu_seconds_per_minute=config.tenant_cpu_seconds_per_minute)


def authenticator_for(config) -> Authenticator:
    return Authenticator(token=config.token, tokens_file=config.tokens_file, mtls=bool(config.tls_client_ca),
                         defaults=server_quotas(config), peer_token=config.peer_token)
