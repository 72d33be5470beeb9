"""The gRPC face of the executor: servicer, auth, health, reflection, graceful shutdown."""
from __future__ import annotations

import logging
import threading
import time
from concurrent import futures
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
from executor.cancel import Cancellation
from executor.config import ServerConfig
from executor.errors import AuthenticationError, ExecutorError, InvalidRequestError, to_status
from executor.layers import Layers, probe_layers, report_layers
from executor.metrics import Metrics
from executor.routing import routing_for
from executor.rpc_guard import GuardInterceptor
from executor.sessions import SessionManager, SessionRecord
from executor.tenants import Authenticator, Tenant, audit, authenticator_for, is_loopback
from executor.tls import TlsFiles, server_credentials

__all__ = ["ExecutorServicer", "RunningServer", "build_server", "SERVICE_NAME"]

log = logging.getLogger("sandcell.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ExecutorService"].full_name
_STATUS = {v.name.removeprefix("EXECUTE_STATUS_").lower(): v.number for v in pb.ExecuteStatus.DESCRIPTOR.values}
_STREAMS = {"stdout": pb.OUTPUT_STREAM_STDOUT, "stderr": pb.OUTPUT_STREAM_STDERR}
_LIMIT_FIELDS = [f.name for f in pb.Limits.DESCRIPTOR.fields]


def _ts(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def session_proto(rec: SessionRecord) -> pb.Session:
    state = (pb.SESSION_STATE_CLOSED if rec.closed else pb.SESSION_STATE_BUSY if rec.busy else pb.SESSION_STATE_IDLE)
    lim = rec.spec.limits
    return pb.Session(
        session_id=rec.session_id, state=state,
        limits=pb.Limits(**{name: getattr(lim, name) for name in _LIMIT_FIELDS}),
        allowed_imports=rec.spec.allowed_imports,
        tools=[pb.ToolSignature(name=t["name"], description=t["description"],
                                parameters_json_schema=t["parameters_json_schema"], output_type=t["output_type"])
               for t in rec.spec.tools],
        create_time=_ts(rec.create_time), last_active_time=_ts(rec.last_active),
        execute_count=rec.execute_count, cpu_used_ms=rec.cpu_used_ms, restore_count=rec.restore_count,
        file_access=rec.spec.file_access)


def result_proto(msg: dict) -> pb.ExecuteResult:
    value, error = msg.get("value"), msg.get("error")
    return pb.ExecuteResult(
        status=_STATUS.get(msg["status"], pb.EXECUTE_STATUS_UNSPECIFIED),
        value=pb.Value(**value) if value else None,
        is_final_answer=msg.get("is_final_answer", False),
        error=pb.Error(**error) if error else None,
        message=msg.get("message", ""), output_truncated=msg.get("output_truncated", False),
        restored=msg.get("restored", False), lost_names=msg.get("lost_names", []),
        wall_time_us=msg.get("wall_time_us", 0), cpu_time_us=msg.get("cpu_time_us", 0),
        peak_memory_bytes=msg.get("peak_memory_bytes", 0),
        checkpoint_error=msg.get("checkpoint_error", ""), state_lost=msg.get("state_lost", False))


def _tool_dict(t: pb.ToolSignature) -> dict:
    import json
    try:
        schema = json.loads(t.parameters_json_schema) if t.parameters_json_schema else {}
    except (ValueError, RecursionError):
        raise InvalidRequestError(f"tool {t.name[:64]!r}: parameters_json_schema is not valid JSON or nests "
                                  "too deeply", field="tools.parameters_json_schema") from None
    params = list((schema.get("properties") or {}).keys()) if isinstance(schema, dict) else []
    return {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters_json_schema,
            "output_type": t.output_type, "params": params}


def _start_dict(start: pb.ExecuteStart) -> tuple[str, dict]:
    if not start.session_id:
        raise InvalidRequestError("ExecuteStart.session_id is empty; pass the id CreateSession returned")
    return start.session_id, {"code": start.code, "wall_timeout_ms": start.wall_timeout_ms,
                              "cpu_per_execute_ms": start.cpu_per_execute_ms, "output_bytes": start.output_bytes}


def _cancellation(context) -> Cancellation:
    """Stops the execute's cell as soon as its RPC ends early (cancel, deadline, lost channel)."""
    cancel = Cancellation()
    if not context.add_callback(cancel.cancel):
        cancel.cancel()  # it has ended already
    return cancel


class ExecutorServicer(pb_grpc.ExecutorServiceServicer):
    def __init__(self, sessions: SessionManager, auth: Authenticator | None = None):
        self.sessions = sessions
        self.auth = auth or Authenticator(defaults=sessions.default_tenant.quotas)

    def _caller(self, context, method: str) -> Tenant:
        """The calling tenant, or the call ends UNAUTHENTICATED (and an audit line says so)."""
        auth = self.auth
        if not auth.enabled:
            return self.sessions.default_tenant
        try:
            return auth.resolve(context.invocation_metadata(), context.auth_context() if auth.mtls else None)
        except AuthenticationError as err:
            audit("auth_failed", "", method=method, peer=context.peer(), reason=err.message)
            if self.sessions.metrics:
                self.sessions.metrics.auth_failures.inc()
            context.abort_with_status(to_status(err))

    def _fail(self, context, err: ExecutorError, tenant: Tenant) -> None:
        """Ends the call with err's status; a refusal for want of capacity is counted per tenant."""
        if err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and self.sessions.metrics:
            self.sessions.metrics.refusals.labels(tenant=tenant.name, reason=err.reason).inc()
        context.abort_with_status(to_status(err))

    def CreateSession(self, request, context):
        tenant = self._caller(context, "CreateSession")
        try:
            limits = {name: getattr(request.limits, name) for name in _LIMIT_FIELDS}
            tools = [_tool_dict(t) for t in request.tools]
            rec = self.sessions.create(limits, list(request.extra_imports), tools, not request.disable_file_access,
                                       tenant)
        except ExecutorError as err:
            self._fail(context, err, tenant)
        audit("session_created", tenant.name, session_id=rec.session_id, peer=context.peer())
        return pb.CreateSessionResponse(session=session_proto(rec))

    def GetSession(self, request, context):
        tenant = self._caller(context, "GetSession")
        try:
            return pb.GetSessionResponse(session=session_proto(self.sessions.get(request.session_id, tenant)))
        except ExecutorError as err:
            self._fail(context, err, tenant)

    def ListSessions(self, request, context):
        tenant = self._caller(context, "ListSessions")
        size = request.page_size or 100
        try:
            offset = int(request.page_token or 0)
        except ValueError:
            context.abort_with_status(to_status(InvalidRequestError("page_token is not one this server issued")))
        records = self.sessions.list(tenant)
        page = records[offset:offset + size]
        token = str(offset + size) if offset + size < len(records) else ""
        return pb.ListSessionsResponse(sessions=[session_proto(r) for r in page], next_page_token=token)

    def CloseSession(self, request, context):
        tenant = self._caller(context, "CloseSession")
        try:
            rec = self.sessions.close(request.session_id, tenant)
        except ExecutorError as err:
            self._fail(context, err, tenant)
        audit("session_closed", tenant.name, session_id=rec.session_id, peer=context.peer(), why="closed by caller")
        return pb.CloseSessionResponse(session=session_proto(rec))

    def Execute(self, request_iterator, context):
        tenant = self._caller(context, "Execute")
        first = next(request_iterator, None)
        try:
            if first is None or first.WhichOneof("kind") != "start":
                raise InvalidRequestError("the first Execute message must be `start` (ExecuteStart)")
            session_id, start = _start_dict(first.start)
            tool_results = ({"call_id": r.tool_result.call_id,
                             **({"error": {"type": r.tool_result.error.type, "message": r.tool_result.error.message}}
                                if r.tool_result.WhichOneof("outcome") == "error"
                                else {"result_json": r.tool_result.result_json})}
                            for r in request_iterator if r.WhichOneof("kind") == "tool_result")
            for msg in self.sessions.execute(session_id, start, tool_results, _cancellation(context), tenant):
                op = msg["op"]
                if op == "out":
                    yield pb.ExecuteResponse(output=pb.OutputChunk(stream=_STREAMS[msg["stream"]], text=msg["text"]))
                elif op == "tool_call":
                    yield pb.ExecuteResponse(tool_call=pb.ToolCall(call_id=msg["call_id"], name=msg["name"],
                                                                   arguments_json=msg["arguments_json"]))
                else:
                    yield pb.ExecuteResponse(result=result_proto(msg))
        except ExecutorError as err:
            self._fail(context, err, tenant)

    def ExecuteUnary(self, request, context):
        tenant = self._caller(context, "ExecuteUnary")
        out = {"stdout": [], "stderr": []}
        try:
            session_id, start = _start_dict(request.start)
            for msg in self.sessions.execute(session_id, start, None, _cancellation(context), tenant):
                if msg["op"] == "out":
                    out[msg["stream"]].append(msg["text"])
                elif msg["op"] == "result":
                    return pb.ExecuteUnaryResponse(result=result_proto(msg), stdout="".join(out["stdout"]),
                                                   stderr="".join(out["stderr"]))
        except ExecutorError as err:
            self._fail(context, err, tenant)


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    sessions: SessionManager
    health: health.HealthServicer
    metrics: Metrics
    auth: Authenticator | None = None  # reload() re-reads the credentials file (SIGHUP)
    layers: Layers | None = None  # which jail layers held at start (executor/layers.py)

    def stop(self, grace_s: float = 10.0) -> None:
        """Graceful: report NOT_SERVING, let running executes finish, then stop workers."""
        self.health.enter_graceful_shutdown()
        self.sessions.draining = True
        # Keep serving while executes run, so they can still stream output and answer tool
        # calls; probes meanwhile see NOT_SERVING and new sessions are refused.
        deadline = time.monotonic() + grace_s
        while self.sessions.busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.server.stop(max(0.5, deadline - time.monotonic())).wait()
        self.sessions.shutdown()


def build_server(config: ServerConfig) -> RunningServer:
    metrics = Metrics.create()
    layers = probe_layers()  # forks: before the zygote and gRPC start threads
    report_layers(layers, metrics)  # refuses to go on without the seccomp layer
    # The zygote starts before gRPC creates any thread, and workers fork from it, not from us.
    if config.tls_client_ca and not config.tls_cert:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key: mTLS is TLS with client certificates")
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    auth = authenticator_for(config)  # reads the credentials file first: a bad one fails the start
    sessions = SessionManager(config, metrics)
    routes, peer_handlers = routing_for(config, sessions, auth, SERVICE_NAME)  # many replicas, one address
    interceptors = [GuardInterceptor(SERVICE_NAME), *routes]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="rpc"),
        interceptors=interceptors,
        options=[("grpc.max_receive_message_length", config.max_message_bytes),
                 ("grpc.max_send_message_length", max(config.max_message_bytes, 64 << 20)),
                 ("grpc.so_reuseport", 0)])
    pb_grpc.add_ExecutorServiceServicer_to_server(ExecutorServicer(sessions, auth), server)
    server.add_generic_rpc_handlers(peer_handlers)
    health_servicer = health.HealthServicer(experimental_non_blocking=True,
                                            experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=1))
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{config.host}:{config.port}"
    if config.tls_cert:
        port = server.add_secure_port(address, server_credentials(
            TlsFiles(config.tls_cert, config.tls_key, config.tls_client_ca)))
    else:
        port = server.add_insecure_port(address)
    _warn_if_open(config)
    if not port:
        sessions.shutdown()
        raise OSError(f"could not bind {config.host}:{config.port}")
    server.start()

    def serving(ok: bool) -> None:  # NOT_SERVING while the zygote restarts (executor/supervisor.py)
        status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            health_servicer.set(name, status)
    serving(True)
    sessions.zygote.on_health = serving
    threading.Thread(target=_track_sessions, args=(sessions, metrics), daemon=True).start()
    if config.metrics_port:
        metrics.serve(config.metrics_port, config.host)
    return RunningServer(server, port, sessions, health_servicer, metrics, auth, layers)


def _warn_if_open(config: ServerConfig) -> None:
    if is_loopback(config.host):
        return
    if not (config.token or config.tokens_file or config.tls_client_ca):
        log.warning("NO AUTHENTICATION on a non-loopback address: anyone who reaches %s:%s can run code and "
                    "see every session; set --tokens-file, --token or --tls-client-ca", config.host, config.port,
                    extra={"event": "auth_disabled", "host": config.host})
    elif not config.tls_cert:
        log.warning("bearer tokens travel in clear text on a non-loopback address; set --tls-cert and --tls-key",
                    extra={"event": "tls_disabled", "host": config.host})


def _track_sessions(sessions: SessionManager, metrics: Metrics) -> None:
    import time
    while True:
        metrics.sessions_open.set(len(sessions.list()))
        time.sleep(1)
