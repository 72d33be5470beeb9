"""Shared servers: two tenants with separate tokens against a real server (and the container).

B must not see, execute in, close or time A's sessions — by id, by listing, or by guessing ids
derived from its own; a revoked token is refused at the next call; the audit log names
tenants and never a secret.
"""
from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from sandcell.client import ExecutorClient, ResourceExhausted, SessionNotFound, Unauthenticated
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
from sandcell.local import ExecutorProcess
from tests.conftest import TARGETS

TOKENS = {name: secrets.token_urlsafe(24) for name in ("alice", "bob", "carol", "dave")}
OVERRIDES = {"dave": " sessions=1"}


def write_credentials(path: Path, names=("alice", "bob", "carol", "dave")) -> None:
    """In place (same inode): a file bind-mounted into a container sees only in-place writes."""
    with open(path, "w") as f:
        f.write("# tenant token overrides\n")
        for name in names:
            f.write(f"{name} {TOKENS[name]}{OVERRIDES.get(name, '')}\n")


@pytest.fixture(scope="module")
def credentials(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tenants") / "tokens"
    write_credentials(path)
    path.chmod(0o644)  # the container's user reads it through the bind mount
    return path


@pytest.fixture(scope="module", params=[t for t in ("local", "docker") if t in TARGETS])
def tenant_server(request, credentials):
    """(address, log reader) of a server that takes its tenants from `credentials`."""
    if request.param == "local":
        proc = ExecutorProcess("--tokens-file", str(credentials))
        yield proc.address, proc.log
        proc.stop()
    else:
        request.getfixturevalue("executor_image")
        from tests.docker.stack import compose_stack
        with compose_stack("tenants", "json", tokens_file=str(credentials)) as running:
            yield running.address, lambda: running.stack.logs("executor", tail=5000)


def as_tenant(address: str, name: str) -> ExecutorClient:
    return ExecutorClient(address, token=TOKENS[name], timeout_s=60)


def _not_found(call) -> SessionNotFound:
    with pytest.raises(SessionNotFound) as info:
        call()
    return info.value


def test_another_tenants_session_answers_exactly_like_a_missing_one(tenant_server, credentials):
    address, _ = tenant_server
    with as_tenant(address, "alice") as alice, as_tenant(address, "bob") as bob:
        a = alice.create_session()
        assert a.execute("secret = 'alice-only'").ok
        own = bob.create_session()
        missing = a.id[:-4] + ("AAAA" if not a.id.endswith("AAAA") else "BBBB")
        # Ids derived from bob's own (neighbours, prefixes), and alice's real one.
        guesses = [own.id[:-1] + c for c in "AB"] + [own.id[:-2], own.id.upper(), a.id]
        for sid in [missing, *guesses]:
            if sid == own.id:
                continue
            errs = [_not_found(lambda: bob.get_session(sid)),
                    _not_found(lambda: bob.execute(sid, "secret")),
                    _not_found(lambda: bob.execute_unary(sid, "secret")),
                    _not_found(lambda: bob.close_session(sid))]
            for err in errs:
                # Same code, reason and message (modulo the id itself) as for an id that never existed.
                assert err.reason == "SESSION_NOT_FOUND" and err.metadata == {"session_id": sid}
                assert err.message.replace(sid, "<id>") == errs[0].message.replace(sid, "<id>")
            ref = _not_found(lambda: bob.get_session(missing))
            assert errs[0].message.replace(sid, "<id>") == ref.message.replace(missing, "<id>")
        assert [s.session_id for s in bob.list_sessions()] == [own.id]
        assert a.id in [s.session_id for s in alice.list_sessions()]
        assert own.id not in [s.session_id for s in alice.list_sessions()]
        # alice's session is untouched by all of that
        r = a.execute("secret")
        assert r.ok and r.value.python() == "alice-only" and not r.restored
        assert alice.get_session(a.id).execute_count == 2
        a.close()
        own.close()


def test_session_ids_carry_at_least_128_random_bits(tenant_server):
    address, _ = tenant_server
    with as_tenant(address, "carol") as carol:
        ids = [carol.create_session().id for _ in range(3)]
        for sid in ids:
            assert len(base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4))) >= 16
            carol.close_session(sid)
        assert len(set(ids)) == 3


def test_revoked_token_is_refused_at_the_next_call_and_others_keep_working(tenant_server, credentials):
    address, read_log = tenant_server
    with as_tenant(address, "alice") as alice, as_tenant(address, "carol") as carol:
        s = carol.create_session()
        assert s.execute("1 + 1").value.python() == 2
        write_credentials(credentials, names=("alice", "bob", "dave"))  # carol revoked
        try:
            with pytest.raises(Unauthenticated, match="revoked"):
                s.execute("1 + 1")
            with pytest.raises(Unauthenticated):
                carol.list_sessions()
            assert alice.create_session().execute("2 + 2").value.python() == 4
        finally:
            write_credentials(credentials)
        assert carol.list_sessions()[0].session_id == s.id  # restored: the session was kept
        s.close()
        with ExecutorClient(address, token="not-a-token-of-anyone") as stranger:
            with pytest.raises(Unauthenticated):
                stranger.create_session()
    log = read_log()
    events = [json.loads(line[line.index("{"):]) for line in log.splitlines() if '"event"' in line]
    kinds = {e["event"] for e in events}
    assert {"session_created", "session_closed", "auth_failed"} <= kinds, kinds
    assert any(e["event"] == "session_created" and e["tenant"] == "carol" for e in events)
    for secret in [*TOKENS.values(), "not-a-token-of-anyone"]:
        assert secret not in log


def test_health_and_reflection_stay_open_but_the_service_does_not(tenant_server):
    address, _ = tenant_server
    with ExecutorClient(address) as anonymous:
        assert anonymous.health()
        with pytest.raises(Unauthenticated, match="bearer token"):
            anonymous.list_sessions()
    import grpc
    with grpc.insecure_channel(address) as ch:
        with pytest.raises(grpc.RpcError) as info:
            pb_grpc.ExecutorServiceStub(ch).ListSessions(
                pb.ListSessionsRequest(), metadata=(("authorization", "Basic " + TOKENS["alice"]),))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_only_the_peer_credential_may_name_a_forwarded_tenant(tmp_path):
    """A replica forwarding a call to the session's owner sends the peer token and the tenant
    it resolved; the owner authorises the call as that tenant. Anyone else naming a tenant in
    that metadata is still only itself. (Unit: Authenticator.resolve, the one resolution path.)"""
    from executor.errors import AuthenticationError
    from executor.tenants import FORWARDED_TENANT, Authenticator
    path = tmp_path / "tokens"
    write_credentials(path)
    auth = Authenticator(tokens_file=str(path), peer_token="peer-" + "p" * 20)

    def bearer(token, tenant=None):
        return [("authorization", f"Bearer {token}")] + ([(FORWARDED_TENANT, tenant)] if tenant else [])
    assert auth.resolve(bearer("peer-" + "p" * 20, "alice")).name == "alice"
    assert auth.resolve(bearer(TOKENS["bob"], "alice")).name == "bob"  # not a peer: itself
    with pytest.raises(AuthenticationError, match=FORWARDED_TENANT):
        auth.resolve(bearer("peer-" + "p" * 20))
    with pytest.raises(AuthenticationError):
        auth.resolve(bearer("peer-" + "q" * 20, "alice"))


def test_a_server_without_credentials_warns_loudly_unless_on_loopback():
    import logging
    from executor.config import ServerConfig
    from executor.server import _warn_if_open
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("sandcell.server")
    logger.addHandler(handler)
    try:
        for host in ("127.0.0.1", "::1", "localhost"):
            _warn_if_open(ServerConfig(host=host))
        assert seen == []
        _warn_if_open(ServerConfig(host="0.0.0.0"))
        assert seen and seen[-1].levelno == logging.WARNING and "NO AUTHENTICATION" in seen[-1].getMessage()
        _warn_if_open(ServerConfig(host="0.0.0.0", token="x" * 20))
        assert "clear text" in seen[-1].getMessage()
        count = len(seen)
        _warn_if_open(ServerConfig(host="0.0.0.0", token="x" * 20, tls_cert="c", tls_key="k"))
        assert len(seen) == count
    finally:
        logger.removeHandler(handler)


def test_a_tenants_session_quota_from_the_file_leaves_others_unaffected(tenant_server):
    address, _ = tenant_server
    with as_tenant(address, "dave") as dave, as_tenant(address, "bob") as bob:
        held = dave.create_session()
        with pytest.raises(ResourceExhausted) as info:
            dave.create_session()
        assert info.value.reason == "TENANT_QUOTA_MAX_SESSIONS" and info.value.metadata["limit"] == "1"
        assert info.value.retry_after_s and info.value.retry_after_s > 0
        other = bob.create_session()
        assert other.execute("2 + 2").value.python() == 4
        held.close()
        dave.create_session().close()  # the quota counts sessions held, not ever created
        other.close()


def test_a_forwarding_replica_acts_as_the_tenant_it_names(tmp_path):
    """Against a real server: a call with the peer token and x-sandcell-tenant sees that
    tenant's sessions, and only those."""
    import grpc
    from executor.tenants import FORWARDED_TENANT
    path = tmp_path / "tokens"
    write_credentials(path)
    peer = secrets.token_urlsafe(24)
    with ExecutorProcess("--tokens-file", str(path), env={"SANDCELL_PEER_TOKEN": peer}) as proc, \
            as_tenant(proc.address, "alice") as alice, as_tenant(proc.address, "bob") as bob:
        mine, theirs = alice.create_session(), bob.create_session()
        with grpc.insecure_channel(proc.address) as ch:
            listed = pb_grpc.ExecutorServiceStub(ch).ListSessions(
                pb.ListSessionsRequest(), metadata=(("authorization", f"Bearer {peer}"), (FORWARDED_TENANT, "alice")))
        assert [s.session_id for s in listed.sessions] == [mine.id]
        assert theirs.id not in [s.session_id for s in listed.sessions]
