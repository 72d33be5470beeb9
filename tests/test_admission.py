"""Fair admission and CPU budgets (executor/admission.py) as units: order of grants, caps, the
bounded wait. Threads stand in for concurrent RPCs; no server is needed for what is tested."""
from __future__ import annotations

import threading
import time

import pytest

from executor.admission import Admission, CpuBudget
from executor.errors import QuotaExceededError, TooManyExecutesError, to_status  # noqa: F401
from executor.tenants import CredentialsError, parse_credentials


def _waiting(adm: Admission, n: int) -> None:
    deadline = time.monotonic() + 5
    while adm.waiting < n:
        assert time.monotonic() < deadline, "waiters did not queue"
        time.sleep(0.005)


def test_freed_slots_go_round_robin_between_tenants_not_first_come():
    adm = Admission(slots=1, queue_length=10, queue_timeout_s=10)
    adm.enter("a", cap=1)
    order: list[str] = []
    lock = threading.Lock()

    def call(tenant):
        adm.enter(tenant, cap=1)
        with lock:
            order.append(tenant)
        adm.leave(tenant)

    threads = []
    for tenant in ["a", "a", "a", "b"]:  # a queues three calls before b's one
        t = threading.Thread(target=call, args=(tenant,))
        t.start()
        threads.append(t)
        _waiting(adm, len(threads))
    adm.leave("a")
    for t in threads:
        t.join(10)
    assert order == ["a", "b", "a", "a"], order  # FIFO would have made b wait for all of a's
    assert adm.running == 0


def test_a_tenant_at_its_cap_waits_while_another_takes_a_free_slot():
    adm = Admission(slots=4, queue_length=10, queue_timeout_s=0.2)
    for _ in range(3):
        adm.enter("a", cap=3)
    adm.enter("b", cap=3)  # a free slot and b under its cap: at once
    adm.leave("b")
    started = time.monotonic()
    with pytest.raises(QuotaExceededError) as info:
        adm.enter("a", cap=3)
    assert time.monotonic() - started >= 0.15  # waited its short turn first
    assert info.value.reason == "TENANT_QUOTA_MAX_CONCURRENT_EXECUTES"
    assert info.value.metadata["quota"] == "max_concurrent_executes"


def test_a_full_server_queues_briefly_then_refuses_with_a_retry_hint():
    adm = Admission(slots=1, queue_length=1, queue_timeout_s=0.1)
    adm.enter("a", cap=1)
    with pytest.raises(TooManyExecutesError) as info:
        adm.enter("b", cap=1)
    assert info.value.retry_after_s and "retry" in info.value.message
    assert len(to_status(info.value).trailing_metadata[0][1]) > 0
    # A waiter that gets its slot within the wait succeeds.
    threading.Timer(0.03, adm.leave, args=("a",)).start()
    adm.enter("b", cap=1)
    assert adm.held("b") == 1


def test_cpu_budget_refuses_once_the_minute_is_used_and_says_when_to_retry():
    budget = CpuBudget()
    budget.check("a", 1.0)
    budget.charge("a", 0.7)
    budget.check("a", 1.0)
    budget.charge("a", 0.5)
    with pytest.raises(QuotaExceededError) as info:
        budget.check("a", 1.0)
    assert info.value.reason == "TENANT_QUOTA_CPU_SECONDS_PER_MINUTE"
    assert 55 < info.value.retry_after_s <= 60
    budget.check("b", 1.0)  # another tenant is not affected


def test_credentials_file_format():
    tokens, quotas = parse_credentials(
        "# comment\nalice aaaaaaaaaaaaaaaaaaaa sessions=3 executes=2 cpu_s_per_min=1.5 nice=5\n"
        "bob sha256:" + "ab" * 32 + "\n"
        "carol - executes=1  # an mTLS tenant's overrides\n")
    assert sorted(tokens.values()) == ["alice", "bob"]
    assert bytes.fromhex("ab" * 32) in tokens and "aaaaaaaaaaaaaaaaaaaa".encode() not in tokens
    assert quotas["alice"].max_sessions == 3 and quotas["alice"].cpu_seconds_per_minute == 1.5
    assert quotas["carol"].max_concurrent_executes == 1
    for bad, why in [("alice", "expected"), ("al!ice aaaaaaaaaaaaaaaaaaaa", "tenant name"), ("alice aaaaaaaaaaaaaaaaaaaa misplaced-token-here", "unknown setting"),
                     ("alice short", "shorter than 16"), ("alice aaaaaaaaaaaaaaaaaaaa colour=red", "unknown setting"),
                     ("alice aaaaaaaaaaaaaaaaaaaa\nbob aaaaaaaaaaaaaaaaaaaa", "line 2: this token is already"),
                     ("alice sha256:abc", "64 hex")]:
        with pytest.raises(CredentialsError, match=why) as info:
            parse_credentials(bad)
        assert "aaaaaaaaaaaaaaaaaaaa" not in str(info.value)  # never a token in the message
