"""The README's grpcurl-style commands (python -m sandcell.reflect) against a real server:
a caller that has only the address and server reflection, as any language would."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sandcell.local import ExecutorProcess
from sandcell.reflect import main

SERVICE = "sandcell.executor.v1.ExecutorService"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_describe_and_a_session_by_json(capsys, local_executor):
    address = local_executor.address
    rc, out, _ = run(capsys, address, "list")
    assert rc == 0 and SERVICE in out.split() and "grpc.health.v1.Health" in out.split()
    rc, out, _ = run(capsys, address, "describe", "sandcell.executor.v1.ExecuteStart")
    assert rc == 0 and 'name: "wall_timeout_ms"' in out
    rc, out, _ = run(capsys, address, "call", f"{SERVICE}/CreateSession", '{"limits": {"wall_timeout_ms": 5000}}')
    session = json.loads(out)["session"]
    assert rc == 0 and session["limits"]["wall_timeout_ms"] == "5000"  # proto3 JSON: 64-bit ints are strings
    start = {"start": {"session_id": session["session_id"], "code": "print('hi')\n6 * 7"}}
    rc, out, _ = run(capsys, address, "call", f"{SERVICE}/ExecuteUnary", json.dumps(start))
    reply = json.loads(out)
    assert rc == 0 and reply["stdout"] == "hi\n" and reply["result"]["value"]["json"] == "42"
    assert reply["result"]["status"] == "EXECUTE_STATUS_OK"
    rc, out, _ = run(capsys, address, "call", f"{SERVICE}/CloseSession", json.dumps({"session_id": session["session_id"]}))
    assert rc == 0 and json.loads(out)["session"]["state"] == "SESSION_STATE_CLOSED"


def test_a_failed_call_shows_status_and_error_info(capsys, local_executor):
    rc, out, err = run(capsys, local_executor.address, "call", f"{SERVICE}/GetSession", '{"session_id": "nope"}')
    assert rc == 1 and out == ""
    assert "NOT_FOUND" in err and "reason: SESSION_NOT_FOUND" in err and "domain: sandcell.dev" in err


def test_streaming_rpcs_are_refused_with_a_pointer(local_executor):
    with pytest.raises(SystemExit, match="not a unary RPC"):
        main([local_executor.address, "call", f"{SERVICE}/Execute", "{}"])


def test_token_from_flag_or_environment():
    with ExecutorProcess(env={"SANDCELL_TOKEN": "s3cret"}) as proc:
        cmd = [sys.executable, "-m", "sandcell.reflect", proc.address, "call", f"{SERVICE}/ListSessions", "{}"]
        denied = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
        assert denied.returncode == 1 and "reason: UNAUTHENTICATED" in denied.stderr
        ok = subprocess.run([*cmd, "--token", "s3cret"], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        ok = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "SANDCELL_TOKEN": "s3cret"})
        assert ok.returncode == 0, ok.stderr
