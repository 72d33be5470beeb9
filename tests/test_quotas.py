"""Per-tenant quotas and fair admission against a real server.

Each quota is hit by one tenant while another keeps working; a burst of 4 x the execute slots
succeeds; a tenant flooding the server with CPU-bound cells does not push another tenant's
trivial cells far beyond their unloaded latency (a behavioural check with generous margins,
not a benchmark: the figures are measured by `bench/`).
"""
from __future__ import annotations

import os
import secrets
import socket
import urllib.request
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandcell.client import ExecutorClient, ResourceExhausted, SandcellError
from sandcell.local import ExecutorProcess

TOKENS = {name: secrets.token_urlsafe(24) for name in ("alice", "bob", "dave", "erin")}


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("quotas") / "tokens"
    path.write_text(f"alice {TOKENS['alice']} sessions=2\n"
                    f"bob   {TOKENS['bob']}\n"
                    f"dave  {TOKENS['dave']} executes=1\n"
                    f"erin  {TOKENS['erin']} cpu_s_per_min=0.3\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        metrics_port = sock.getsockname()[1]
    proc = ExecutorProcess("--tokens-file", str(path), "--max-concurrent-executes", "4",
                           "--execute-queue-timeout-ms", "300", "--metrics-port", str(metrics_port))
    proc.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    yield proc
    proc.stop()


def client(proc, name: str) -> ExecutorClient:
    return ExecutorClient(proc.address, token=TOKENS[name], timeout_s=60)


def _exhausted(call) -> ResourceExhausted:
    with pytest.raises(ResourceExhausted) as info:
        call()
    assert info.value.retry_after_s and info.value.retry_after_s > 0, "no google.rpc.RetryInfo"
    return info.value


def test_sessions_quota_is_per_tenant(quota_server):
    with client(quota_server, "alice") as alice, client(quota_server, "bob") as bob:
        held = [alice.create_session(), alice.create_session()]
        err = _exhausted(alice.create_session)
        assert err.reason == "TENANT_QUOTA_MAX_SESSIONS" and err.metadata["quota"] == "max_sessions"
        assert "close one" in err.message
        extra = [bob.create_session() for _ in range(3)]  # bob's own quota is the server's
        held[0].close()
        held.append(alice.create_session())  # freed by the close
        for s in held[1:] + extra:
            s.close()


def test_concurrent_executes_quota_is_per_tenant(quota_server):
    with client(quota_server, "dave") as dave, client(quota_server, "bob") as bob:
        slow, second = dave.create_session(), dave.create_session()
        other = bob.create_session()
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(slow.execute, "import time\ntime.sleep(2)\n'done'")
            time.sleep(0.5)
            err = _exhausted(lambda: second.execute("1"))
            assert err.reason == "TENANT_QUOTA_MAX_CONCURRENT_EXECUTES"
            assert err.metadata["quota"] == "max_concurrent_executes" and err.metadata["limit"] == "1"
            assert other.execute("2 + 2").value.python() == 4  # bob is not held back
            assert running.result(30).value.python() == "done"
        assert second.execute("1").ok
        for s in (slow, second, other):
            s.close()


def test_cpu_seconds_per_minute_quota_is_per_tenant(quota_server):
    with client(quota_server, "erin") as erin, client(quota_server, "bob") as bob:
        s, other = erin.create_session(), bob.create_session()
        burn = "n = 0\nfor i in range(3_000_000):\n    n += i\nn"
        err = None
        for _ in range(20):  # until the minute's 0.3 CPU seconds are used
            try:
                assert s.execute(burn).ok
            except ResourceExhausted as exc:
                err = exc
                break
        assert err is not None and err.retry_after_s, "the CPU quota was never hit"
        assert err.reason == "TENANT_QUOTA_CPU_SECONDS_PER_MINUTE"
        assert err.metadata["quota"] == "cpu_seconds_per_minute" and 0 < err.retry_after_s <= 60
        assert other.execute(burn).ok  # bob's CPU is his own
        s.close()
        other.close()


def test_metrics_are_labelled_by_tenant_never_by_token(quota_server):
    """After the quota tests above: refusals and executes per tenant; no credential anywhere."""
    text = urllib.request.urlopen(quota_server.metrics_url, timeout=5).read().decode()
    assert 'sandcell_refusals_total{reason="TENANT_QUOTA_MAX_SESSIONS",tenant="alice"} 1.0' in text, text
    assert 'reason="TENANT_QUOTA_MAX_CONCURRENT_EXECUTES",tenant="dave"' in text
    assert 'reason="TENANT_QUOTA_CPU_SECONDS_PER_MINUTE",tenant="erin"' in text
    assert 'sandcell_executes_total{status="ok",tenant="bob"}' in text
    assert 'sandcell_tenant_sessions_open{tenant="alice"} 0.0' in text
    assert not any(token in text for token in TOKENS.values())


def test_a_burst_of_four_times_the_slots_all_succeed():
    """Issue 11's item: N <= 4 x max-concurrent-executes callers at once, none refused."""
    with ExecutorProcess("--max-concurrent-executes", "2", "--max-sessions", "20") as proc, \
            ExecutorClient(proc.address, timeout_s=60) as c:
        sessions = [c.create_session() for _ in range(8)]
        barrier = threading.Barrier(len(sessions))

        def caller(s):
            barrier.wait()
            return [s.execute("import time\ntime.sleep(0.02)\n1").value.python() for _ in range(3)]

        with ThreadPoolExecutor(len(sessions)) as pool:
            results = list(pool.map(caller, sessions))
        assert results == [[1, 1, 1]] * len(sessions)


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_a_flooding_tenant_does_not_starve_another(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"alice {TOKENS['alice']}\nbob {TOKENS['bob']}\n")
    with ExecutorProcess("--tokens-file", str(path), "--max-concurrent-executes", "4") as proc, \
            ExecutorClient(proc.address, token=TOKENS["alice"], timeout_s=120) as a, \
            ExecutorClient(proc.address, token=TOKENS["bob"], timeout_s=60) as b:
        mine = b.create_session()
        for _ in range(10):
            mine.execute("1")  # warm
        def trivial_latencies(n: int) -> list[float]:
            out = []
            for i in range(n):
                t = time.perf_counter()
                r = mine.execute(f"{i} + 1")
                out.append(time.perf_counter() - t)
                assert r.value.python() == i + 1
            return out
        unloaded = trivial_latencies(100)
        flood = [a.create_session() for _ in range(32)]
        stop = threading.Event()
        refused = []

        def flooder(s):
            while not stop.is_set():
                try:
                    s.execute("n = 0\nfor i in range(2_000_000):\n    n += i")
                except SandcellError as err:  # A's own cap and queue: A may be refused, B may not
                    refused.append(err.reason)
                    stop.wait(min(err.retry_after_s or 0.5, 0.5))  # a client that honours the retry hint

        with ThreadPoolExecutor(len(flood)) as pool:
            for s in flood:
                pool.submit(flooder, s)
            time.sleep(1.0)  # the flood is under way: A's cells hold every slot A may take
            try:
                loaded = trivial_latencies(100)
            finally:
                stop.set()
        print(f"B p99 unloaded {_p99(unloaded) * 1000:.1f} ms, loaded {_p99(loaded) * 1000:.1f} ms; "
              f"A refused {len(refused)}")
        assert _p99(loaded) < 5 * _p99(unloaded)


def test_a_tenants_nice_weight_is_applied_to_its_workers(tmp_path):
    """CPU weight per tenant (executor/cpushare.py): `nice=N` in the credentials file."""
    path = tmp_path / "tokens"
    path.write_text(f"alice {TOKENS['alice']} nice=7\nbob {TOKENS['bob']}\n")
    with ExecutorProcess("--tokens-file", str(path)) as proc, client(proc, "alice") as alice, \
            client(proc, "bob") as bob:
        a, b = alice.create_session(), bob.create_session()
        assert a.execute("1").ok and b.execute("1").ok
        base = os.getpriority(os.PRIO_PROCESS, proc.pid)  # the server's, e.g. under `nice make test`
        workers = {p.cwd().rsplit("/", 1)[-1]: p for p in proc.session_workers()}
        assert workers[a.id].nice() == min(19, base + 7) and workers[b.id].nice() == base
        workers[a.id].kill()  # a crash: the next execute restores the session in a new worker
        assert a.execute("2").restored
        restored = {p.cwd().rsplit("/", 1)[-1]: p for p in proc.session_workers()}[a.id]
        assert restored.pid != workers[a.id].pid and restored.nice() == min(19, base + 7)
