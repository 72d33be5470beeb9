"""Which executor an agent uses: `executor=` / smolagents' `executor_type=` / $SANDCELL_EXECUTOR,
the default ("auto"), and clear errors when Docker cannot be reached. The container itself is
started in tests/docker/test_launcher.py; here Docker is made unreachable for real (a
$DOCKER_HOST socket that does not exist), not mocked."""
import os
import subprocess
import sys

import pytest

from agent import CodeAgent, DockerUnavailable
from agent.executor_conn import choose_default, executor_choice, open_executor
from fake_model import FakeModel
from scripted_llm import text

NO_DOCKER = "unix:///nonexistent/sandcell-test-docker.sock"


@pytest.mark.parametrize("executor, executor_type, chosen", [
    (None, None, None),
    ("docker", None, "docker"),
    ("local", None, "local"),
    ("auto", None, "auto"),
    ("127.0.0.1:50051", None, "127.0.0.1:50051"),
    (None, "docker", "docker"),
    (None, "local", "local"),
    ("docker", "docker", "docker"),
])
def test_executor_and_executor_type_name_one_choice(executor, executor_type, chosen):
    assert executor_choice(executor, executor_type) == chosen
    agent = CodeAgent([], FakeModel(""), executor=executor, executor_type=executor_type)
    assert agent._executor_arg == chosen


@pytest.mark.parametrize("executor, executor_type, words", [
    (None, "e2b", "remote sandbox this package does not drive"),
    (None, "modal", "use executor_type=\"docker\""),
    (None, "podman", "must be 'docker' or 'local'"),
    ("local", "docker", "disagree"),
    ("dokcer", None, "neither \"host:port\" nor one of auto, docker, local"),
])
def test_unservable_choices_are_refused_at_construction(executor, executor_type, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        CodeAgent([], FakeModel(""), executor=executor, executor_type=executor_type)


def test_docker_not_running_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    agent = CodeAgent([], FakeModel("<code>\nfinal_answer(1)\n"), executor="docker")
    with pytest.raises(DockerUnavailable, match="Docker is not reachable at " + NO_DOCKER) as info:
        agent.run("t")
    assert "executor=\"local\"" in str(info.value)  # what to do instead


def test_auto_falls_back_to_embedded_and_says_why(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.delenv("SANDCELL_EXECUTOR", raising=False)
    kind, why = choose_default()
    assert kind == "local" and "no container" in why and "Docker is not reachable" in why
    said = []
    with open_executor(announce=said.append) as conn:
        assert conn.kind == "embedded" and conn.client.health()
    assert said == [f"executor: {why}, at {conn.address}"]


def test_sandcell_executor_may_name_a_kind(monkeypatch):
    monkeypatch.setenv("SANDCELL_EXECUTOR", "local")
    agent = CodeAgent([], FakeModel("<code>\nfinal_answer(7)\n"))
    try:
        assert agent.run("t") == 7 and agent._conn.kind == "embedded"
    finally:
        agent.close()


def test_cli_says_which_executor_it_uses(llm, agent_executor_address):
    llm.script(text("<code>\nfinal_answer(3)\n"), text("<code>\nfinal_answer(4)\n"))
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "COLUMNS": "200", "DOCKER_HOST": NO_DOCKER}
    env.pop("SANDCELL_EXECUTOR", None)
    base = [sys.executable, "-m", "agent", "run", "t", "--model-type", "openai", "--model", "m",
            "--api-base", llm.base_url]
    remote = subprocess.run(base + ["--executor", agent_executor_address], env=env, capture_output=True,
                            text=True, timeout=120)
    assert remote.returncode == 0 and f"executor: the executor at {agent_executor_address}" in remote.stdout
    auto = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "executor: the embedded local executor (no container: Docker is not reachable" in auto.stdout
    docker = subprocess.run(base + ["--executor", "docker"], env=env, capture_output=True, text=True, timeout=120)
    assert docker.returncode == 1 and "DockerUnavailable" in docker.stdout and "Traceback" not in docker.stderr

