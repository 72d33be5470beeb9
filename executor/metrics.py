"""Prometheus metrics: sessions and executes by tenant (its name, never a credential), latency."""
from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["Metrics"]


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    sessions_created: Counter
    sessions_closed: Counter
    sessions_open: Gauge
    executes: Counter
    execute_seconds: Histogram
    restores: Counter
    tenant_sessions_open: Gauge
    refusals: Counter
    auth_failures: Counter
    sandbox_layer: Gauge

    @classmethod
    def create(cls) -> "Metrics":
        reg = CollectorRegistry()
        return cls(
            registry=reg,
            sessions_created=Counter("sandcell_sessions_created", "Sessions created, by tenant", ["tenant"], registry=reg),
            sessions_closed=Counter("sandcell_sessions_closed", "Sessions closed (any reason), by tenant", ["tenant"],
                                    registry=reg),
            sessions_open=Gauge("sandcell_sessions_open", "Sessions open now", registry=reg),
            executes=Counter("sandcell_executes", "Executes by result status and tenant", ["status", "tenant"],
                             registry=reg),
            execute_seconds=Histogram("sandcell_execute_seconds", "Execute latency inside the server",
                                      buckets=(.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60),
                                      registry=reg),
            restores=Counter("sandcell_restores", "Workers killed and restored from a checkpoint", registry=reg),
            tenant_sessions_open=Gauge("sandcell_tenant_sessions_open", "Sessions open now, by tenant", ["tenant"],
                                       registry=reg),
            refusals=Counter("sandcell_refusals", "Calls refused RESOURCE_EXHAUSTED by a quota or a full server, "
                             "by tenant and ErrorInfo reason", ["tenant", "reason"], registry=reg),
            auth_failures=Counter("sandcell_auth_failures", "Calls refused UNAUTHENTICATED", registry=reg),
            sandbox_layer=Gauge("sandcell_sandbox_layer_enforced", "1 when a jail layer was seen to hold at start "
                                "(seccomp, landlock, subreaper; gvisor: running under gVisor)", ["layer"], registry=reg),
        )

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        start_http_server(port, addr=host, registry=self.registry)
