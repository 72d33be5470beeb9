"""Fuzzing the policy (tests/policy_fuzz.py): a bounded, derandomized batch here, in `make
test`; `make fuzz` runs a long random one. Programs found failing are saved to
tests/fuzz_cases/ and replayed below as regression cases."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from executor.config import DEFAULT_ALLOWED_IMPORTS
from executor.policy import Policy, PolicyConfig
from sandcell.client import ExecutorClient, Limits
from tests import policy_fuzz

LONG = "SANDCELL_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("SANDCELL_FUZZ_EXAMPLES", "40"))
pytestmark = pytest.mark.usefixtures("service_intact")


@pytest.fixture(scope="module")
def policy():
    return Policy(PolicyConfig(allowed_imports=DEFAULT_ALLOWED_IMPORTS))


@pytest.fixture(scope="module")
def worker(local_executor):
    """One session of the real local service; fuzzed programs run in its worker."""
    with ExecutorClient(local_executor.address, timeout_s=60) as c:
        with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
            yield s


def _check(policy, worker, source: str) -> None:
    problems = policy_fuzz.compiled_problems(policy, source)
    assert not problems, f"invariant broken by {source!r}: {problems}"
    problem = policy_fuzz.run_problem(worker, source)
    assert problem is None, f"{source!r}: {problem}"


def test_fuzzed_programs_keep_the_policy(policy, worker):
    failing: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
              suppress_health_check=list(HealthCheck))
    @given(source=policy_fuzz.programs())
    def check(source):
        try:
            _check(policy, worker, source)
        except AssertionError:
            failing.append(source)  # hypothesis replays the minimal example last
            raise

    try:
        check()
    except AssertionError:
        if failing:
            path = policy_fuzz.save_case(failing[-1])
            print(f"saved the failing program as {path}")
        raise


@pytest.mark.parametrize("source", [*policy_fuzz.SEEDS, *(p.read_text() for p in policy_fuzz.saved_cases())])
def test_seeds_and_saved_cases(policy, worker, source):
    _check(policy, worker, source)
