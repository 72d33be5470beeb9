"""Operability: health, reflection, Prometheus metrics, structured logs."""
from __future__ import annotations

import json
import socket
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_and_reflection(executor_address):
    with grpc.insecure_channel(executor_address) as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        [resp] = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for s in resp.list_services_response.service}
        assert "sandcell.executor.v1.ExecutorService" in names and "grpc.health.v1.Health" in names


def test_metrics_and_json_logs():
    port = _free_port()
    with ExecutorProcess("--metrics-port", str(port)) as proc, ExecutorClient(proc.address) as c:
        with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
            s.execute("1 + 1")
            s.execute("1 / 0")
            s.execute("import time\ntime.sleep(5)")
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            assert "sandcell_sessions_open 1.0" in text, text
        assert 'sandcell_executes_total{status="ok",tenant="default"} 1.0' in text
        assert 'sandcell_executes_total{status="error",tenant="default"} 1.0' in text
        assert 'sandcell_executes_total{status="timeout",tenant="default"} 1.0' in text
        assert "sandcell_execute_seconds_bucket" in text
        events = [json.loads(line) for line in proc.log().splitlines() if line.startswith("{")]
        assert {"session_created", "session_closed"} <= {e.get("event") for e in events}
        assert all({"ts", "level", "msg"} <= e.keys() for e in events)


def test_readme_config_table_matches_the_code():
    import pathlib
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parents[1]
    table = subprocess.run([sys.executable, "-m", "executor", "--config-table"], capture_output=True,
                           text=True, check=True, cwd=root).stdout.strip()
    assert table in (root / "README.md").read_text(), "README's configuration table is stale: " \
        "paste the output of `python -m executor --config-table`"
