"""The other replicas: where they are, channels to them, and how loaded each is.

Replicas find each other from `--peers`: a static list of host:port (tests: container names
on a private Docker network) or `dns:NAME:PORT`, every address NAME resolves to (Kubernetes:
the headless Service, one A record per pod, this one included). A replica is reached by its
id through `--peer-address-template` (Kubernetes: `{replica}.sandcell-executor-peers:50051`,
the StatefulSet's stable per-pod name).

Between replicas there is one more service, `sandcell.internal.v1.Peer/Load`, outside the
public proto on purpose (only replicas call it; JSON bodies): it answers this replica's id
and load. Every peer call carries the peer token as its bearer, so a client cannot call it
or pose as a replica.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass

import grpc

from executor.errors import AuthenticationError, to_status
from executor.tenants import FORWARDED_TENANT

__all__ = ["Load", "Peers", "load_handler", "FORWARDED", "LOAD_METHOD"]

LOAD_SERVICE = "sandcell.internal.v1.Peer"
LOAD_METHOD = f"/{LOAD_SERVICE}/Load"
FORWARDED = "x-sandcell-forwarded"  # set on a call a replica forwards: it is never forwarded again
_REFRESH_S = 5.0                    # how often dns: peers are resolved again
_LOAD_TTL_S = 0.25                  # a peer's load is asked again after this


@dataclass(frozen=True)
class Load:
    replica: str
    address: str
    sessions: int
    max_sessions: int
    executes: int         # executes running now: the CPU a replica is busy with
    draining: bool

    @property
    def score(self) -> float:
        """Lower is emptier: the share of session slots held, plus running executes weighted
        as a session each (a spinning session costs CPU that idle ones do not)."""
        if self.draining or self.sessions >= self.max_sessions:
            return float("inf")
        return (self.sessions + self.executes) / max(1, self.max_sessions)


def _encode(obj) -> bytes:
    return json.dumps(obj).encode()


def _decode(raw: bytes):
    return json.loads(raw or b"{}")


def load_handler(replica: str, peer_token: str, snapshot) -> grpc.GenericRpcHandler:
    """The Load service; `snapshot()` returns (sessions, max_sessions, executes, draining)."""
    expected = f"Bearer {peer_token}"

    def load(_request, context):
        if peer_token and dict(context.invocation_metadata()).get("authorization") != expected:
            context.abort_with_status(to_status(AuthenticationError("Load is for replicas: send the peer token")))
        sessions, max_sessions, executes, draining = snapshot()
        return {"replica": replica, "sessions": sessions, "max_sessions": max_sessions, "executes": executes,
                "draining": draining}

    return grpc.method_handlers_generic_handler(LOAD_SERVICE, {
        "Load": grpc.unary_unary_rpc_method_handler(load, request_deserializer=_decode, response_serializer=_encode)})


class Peers:
    def __init__(self, replica: str, peers: tuple[str, ...], template: str, peer_token: str):
        self.replica = replica
        self._specs = peers
        self._template = template
        self._token = peer_token
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._addresses: list[str] = []
        self._resolved_at = 0.0
        self._loads: dict[str, tuple[float, Load | None]] = {}
        self._pool = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="peers")

    @property
    def enabled(self) -> bool:
        return bool(self.replica and self._specs)

    def owner_address(self, replica: str) -> str:
        return self._template.format(replica=replica)

    def channel(self, address: str) -> grpc.Channel:
        with self._lock:
            ch = self._channels.get(address)
            if ch is None:
                ch = self._channels[address] = grpc.insecure_channel(
                    address, options=[("grpc.max_receive_message_length", 64 << 20),
                                      ("grpc.max_send_message_length", 64 << 20)])
            return ch

    def metadata(self, tenant: str) -> list[tuple[str, str]]:
        """What a forwarded call carries: the peer credential, the caller's tenant, the hop mark."""
        md = [(FORWARDED, "1"), (FORWARDED_TENANT, tenant)]
        return md + ([("authorization", f"Bearer {self._token}")] if self._token else [])

    def addresses(self) -> list[str]:
        """Every replica's address, this one's included (resolved again every few seconds)."""
        now = time.monotonic()
        if now - self._resolved_at < _REFRESH_S and self._addresses:
            return self._addresses
        out: list[str] = []
        for spec in self._specs:
            if spec.startswith("dns:"):
                host, _, port = spec[4:].rpartition(":")
                try:
                    infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
                except OSError:
                    continue  # no replica resolvable right now: spread over the others
                out += sorted({f"{i[4][0]}:{port}" for i in infos})
            else:
                out.append(spec)
        self._addresses, self._resolved_at = out, now
        return out

    def _ask(self, address: str) -> Load | None:
        call = self.channel(address).unary_unary(LOAD_METHOD, request_serializer=_encode, response_deserializer=_decode)
        try:
            got = call({}, timeout=0.5, metadata=self.metadata(""))
        except grpc.RpcError:
            return None  # gone or not ready: not a candidate
        return Load(got["replica"], address, int(got["sessions"]), int(got["max_sessions"]),
                    int(got["executes"]), bool(got["draining"]))

    def loads(self) -> list[Load]:
        """Every reachable replica's load, asked in parallel, cached briefly."""
        now = time.monotonic()
        addresses = self.addresses()
        stale = [a for a in addresses if now - self._loads.get(a, (0.0, None))[0] > _LOAD_TTL_S]
        for address, load in zip(stale, self._pool.map(self._ask, stale)):
            self._loads[address] = (now, load)
        return [load for a in addresses if (load := self._loads.get(a, (0.0, None))[1]) is not None]

    def placed(self, load: Load) -> None:
        """A create went to `load`'s replica: count it until its load is asked again."""
        self._loads[load.address] = (self._loads.get(load.address, (time.monotonic(), None))[0],
                                     Load(load.replica, load.address, load.sessions + 1, load.max_sessions,
                                          load.executes, load.draining))

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        with self._lock:
            for ch in self._channels.values():
                ch.close()
            self._channels.clear()
