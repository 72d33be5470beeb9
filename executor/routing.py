"""One address, many replicas: any replica serves any session by forwarding to its owner.

A session lives in one replica's memory. Its id names that replica (`<replica>.<random>`,
sessions.py), so whichever replica a client's connection lands on (a Kubernetes Service
spreads connections, not calls) can tell where the session is and forward the call there,
over the peers' addresses (peers.py), authenticated with the peer token and carrying the
tenant this replica resolved from the caller's credential. Every RPC is routed:

* Get/Close/ExecuteUnary: the request, forwarded whole; the owner's reply or error returned.
* Execute (the bidirectional stream): the first message names the session; the rest of the
  caller's stream (tool results) is relayed to the owner and its stream (output, tool calls,
  the result) back, so tool callbacks work through the hop.
* CreateSession: placed on the emptiest replica by load (sessions held and executes running,
  asked of every replica, cached 0.25 s), this one on a tie.
* ListSessions: every replica's sessions of the caller, paged here.

A forwarded call is marked and is never forwarded again. A client needs nothing special:
routing is in the server, so a client in any language reaches its session through the one
address. If the owner cannot be reached the call fails UNAVAILABLE (REPLICA_UNAVAILABLE), with
a message saying the session went with its replica.
"""
from __future__ import annotations

import itertools
import logging

import grpc
from grpc_status import rpc_status

from executor.errors import AuthenticationError, ExecutorError, InvalidRequestError, to_status
from executor.peers import FORWARDED, Load, Peers, load_handler
from sandcell.executor.v1 import executor_pb2 as pb

__all__ = ["ReplicaUnavailableError", "RoutingInterceptor", "owner_of", "routing_for"]

log = logging.getLogger("sandcell.routing")
_RESPONSES = {"CreateSession": pb.CreateSessionResponse, "GetSession": pb.GetSessionResponse,
              "ListSessions": pb.ListSessionsResponse, "CloseSession": pb.CloseSessionResponse,
              "ExecuteUnary": pb.ExecuteUnaryResponse, "Execute": pb.ExecuteResponse}


class ReplicaUnavailableError(ExecutorError):
    code, reason = grpc.StatusCode.UNAVAILABLE, "REPLICA_UNAVAILABLE"


def owner_of(session_id: str) -> str:
    """The replica a session id names ('' for an id from a server without a replica id)."""
    owner, dot, _ = session_id.partition(".")
    return owner if dot else ""


def _timeout(context) -> float | None:
    """The caller's deadline, passed on; none when it set none (gRPC reports that as ~forever,
    which as a timeout would overflow into an immediate DEADLINE_EXCEEDED)."""
    left = context.time_remaining()
    return None if left is None or left > 1e6 else left


def _serialize(message) -> bytes:
    return message.SerializeToString()


class RoutingInterceptor(grpc.ServerInterceptor):
    def __init__(self, service: str, peers: Peers, auth):
        self._prefix = f"/{service}/"
        self.peers = peers
        self._auth = auth

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or not details.method.startswith(self._prefix) or not self.peers.enabled:
            return handler
        if any(k == FORWARDED for k, _ in details.invocation_metadata):
            return handler  # a peer's hop: served here; the servicer checks the peer token and tenant
        name = details.method[len(self._prefix):]
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(self._execute_stream(handler, details.method),
                                                         handler.request_deserializer, handler.response_serializer)
        route = {"CreateSession": self._create, "ListSessions": self._list}.get(name, self._by_owner)
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: route(handler, details.method, request, context),
            handler.request_deserializer, handler.response_serializer)

    # -- what a forwarded call carries
    def _tenant(self, context) -> str:
        if not self._auth.enabled:
            return ""
        try:
            return self._auth.resolve(context.invocation_metadata(),
                                      context.auth_context() if self._auth.mtls else None).name
        except AuthenticationError as err:
            context.abort_with_status(to_status(err))

    def _relay(self, err: grpc.RpcError, context, address: str, what: str) -> None:
        """The peer's own error as it gave it; a peer that cannot be reached, explained."""
        status = rpc_status.from_call(err)
        if status is not None:
            context.abort_with_status(rpc_status.to_status(status))
        if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and context.is_active():
            context.abort_with_status(to_status(ReplicaUnavailableError(
                f"{what} is held by the replica at {address}, which cannot be reached ({err.details()}). "
                "A session lives in its replica's memory: if that replica is gone, so is the session; "
                "create a new one", replica_address=address)))
        context.abort(err.code(), err.details() or "the owning replica ended the call")

    def _forward(self, address: str, method: str, request, context, what: str):
        call = self.peers.channel(address).unary_unary(
            method, request_serializer=_serialize, response_deserializer=_RESPONSES[method.rsplit("/", 1)[1]].FromString)
        try:
            return call(request, metadata=self.peers.metadata(self._tenant(context)), timeout=_timeout(context))
        except grpc.RpcError as err:
            self._relay(err, context, address, what)

    # -- the routes
    def _by_owner(self, handler, method, request, context):
        sid = request.start.session_id if hasattr(request, "start") else request.session_id
        owner = owner_of(sid)
        if not owner or owner == self.peers.replica:
            return handler.unary_unary(request, context)
        return self._forward(self.peers.owner_address(owner), method, request, context, f"session {sid!r}")

    def _execute_stream(self, handler, method):
        def run(request_iterator, context):
            first = next(request_iterator, None)
            stream = itertools.chain([first] if first is not None else [], request_iterator)
            sid = first.start.session_id if first is not None and first.WhichOneof("kind") == "start" else ""
            owner = owner_of(sid)
            if not owner or owner == self.peers.replica:
                yield from handler.stream_stream(stream, context)
                return
            address = self.peers.owner_address(owner)
            call = self.peers.channel(address).stream_stream(method, request_serializer=_serialize,
                                                             response_deserializer=pb.ExecuteResponse.FromString)
            responses = call(stream, metadata=self.peers.metadata(self._tenant(context)),
                             timeout=_timeout(context))
            context.add_callback(responses.cancel)  # the caller went away: so does the hop
            try:
                yield from responses
            except grpc.RpcError as err:
                self._relay(err, context, address, f"session {sid!r}")
        return run

    def _create(self, handler, method, request, context):
        loads = self.peers.loads()
        best: Load | None = min(loads, key=lambda l: (l.score, l.replica != self.peers.replica), default=None)
        if best is None or best.score == float("inf"):
            return handler.unary_unary(request, context)  # nowhere better: here, and refused if full
        self.peers.placed(best)  # counted until its load is asked again, so a burst spreads too
        if best.replica == self.peers.replica:
            return handler.unary_unary(request, context)
        return self._forward(best.address, method, request, context, f"a new session on replica {best.replica!r}")

    def _list(self, handler, method, request, context):
        size = request.page_size or 100
        try:
            offset = int(request.page_token or 0)
        except ValueError:
            context.abort_with_status(to_status(InvalidRequestError("page_token is not one this service issued")))
        md = self.peers.metadata(self._tenant(context))
        sessions = []
        for address in self.peers.addresses():
            call = self.peers.channel(address).unary_unary(method, request_serializer=_serialize,
                                                           response_deserializer=pb.ListSessionsResponse.FromString)
            token = ""
            while True:
                try:
                    page = call(pb.ListSessionsRequest(page_size=1000, page_token=token), metadata=md, timeout=5)
                except grpc.RpcError as err:  # a replica that is gone holds no sessions any more
                    log.warning("ListSessions: replica %s not reached: %s", address, err.code().name)
                    break
                sessions += page.sessions
                token = page.next_page_token
                if not token:
                    break
        sessions.sort(key=lambda s: (s.create_time.seconds, s.create_time.nanos, s.session_id))
        return pb.ListSessionsResponse(sessions=sessions[offset:offset + size],
                                       next_page_token=str(offset + size) if offset + size < len(sessions) else "")


def routing_for(config, sessions, auth, service: str) -> tuple[list[grpc.ServerInterceptor], list]:
    """The interceptor and the peer Load service of a replica (none when routing is off)."""
    peers = Peers(config.replica_id, config.peers, config.peer_address_template or "{replica}:50051",
                  config.peer_token)
    if not peers.enabled:
        return [], []
    if auth.enabled and not config.peer_token:
        raise ValueError("--replica-id and --peers with authentication need --peer-token: replicas must "
                         "authenticate the calls they forward to each other")

    def snapshot():
        records = sessions.list()
        return len(records), config.max_sessions, sum(1 for r in records if r.busy), sessions.draining
    return [RoutingInterceptor(service, peers, auth)], [load_handler(config.replica_id, config.peer_token, snapshot)]
