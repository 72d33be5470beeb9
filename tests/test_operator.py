"""What an operator touches: the compose file's settings, the server's flags and help, the
local demo. Static checks of docker/compose.yaml (the running stack is tests/docker/)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from executor.config import _env_name, _settings, parse_config

ROOT = Path(__file__).resolve().parents[1]
# Settings the image fixes (its ENTRYPOINT), that only make sense for an embedding program,
# or that are for tests only and must never be reachable from a deployment's environment.
COMPOSE_FIXED = {"host", "port", "workdir_root", "ready_file", "parent_pid", "test_policy_off"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def test_compose_passes_every_setting_from_the_environment(compose):
    env = compose["services"]["executor"]["environment"]
    for _owner, f in _settings():
        name = _env_name(f.name)
        if f.name in COMPOSE_FIXED:
            assert name not in env
            continue
        assert name in env, f"add {name}: ${{{name}:-}} to docker/compose.yaml's executor environment"
        assert str(env[name]).startswith(f"${{{name}:-"), env[name]


def test_compose_publishes_under_its_own_variable_names(compose):
    text = (ROOT / "docker" / "compose.yaml").read_text()
    assert "${SANDCELL_PORT" not in text and "${SANDCELL_HOST" not in text  # those are the server's
    assert compose["services"]["forwarder"]["ports"] == [
        "${SANDCELL_PUBLISH_HOST:-127.0.0.1}:${SANDCELL_PUBLISH_PORT:-50051}:50051"]
    metrics = compose["services"]["metrics"]
    assert metrics["profiles"] == ["metrics"]  # opt-in
    assert "executor:${SANDCELL_METRICS_PORT:-9464}" in metrics["entrypoint"]


def test_an_empty_variable_means_the_default():
    config = parse_config([], {"SANDCELL_MAX_SESSIONS": "", "SANDCELL_FILE_ACCESS": "", "SANDCELL_TOKEN": ""})
    default = parse_config([], {})
    assert config == default


@pytest.mark.parametrize("argv, environ", [
    (["--file-access", "maybe"], {}),
    (["--log-json", "ja"], {}),
    ([], {"SANDCELL_FILE_ACCESS": "enabled"}),
    ([], {"SANDCELL_LOG_JSON": "nope"}),
])
def test_boolean_settings_refuse_unknown_words(argv, environ, capsys):
    with pytest.raises(SystemExit) as info:
        parse_config(argv, environ)
    assert info.value.code == 2
    assert "boolean" in capsys.readouterr().err


@pytest.mark.parametrize("word, value", [("true", True), ("On", True), ("1", True), ("no", False), ("0", False)])
def test_boolean_words(word, value):
    assert parse_config(["--file-access", word], {}).file_access is value
    assert parse_config([], {"SANDCELL_LOG_JSON": word}).log_json is value


def test_help_shows_each_default_and_variable():
    out = subprocess.run([sys.executable, "-m", "executor", "--help"], capture_output=True, text=True,
                         timeout=60, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"}).stdout
    assert "(default: 30000; environment: SANDCELL_WALL_TIMEOUT_MS)" in out
    assert "(default: True; environment: SANDCELL_FILE_ACCESS)" in out
    assert "(default: empty; environment: SANDCELL_TOKEN)" in out


def test_the_local_demo_does_not_point_at_a_stopped_server():
    done = subprocess.run([sys.executable, "-m", "sandcell.demo", "--spawn"], capture_output=True, text=True,
                          timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "final answer" in done.stdout
    assert "Connect from Python" not in done.stdout and "has stopped" in done.stdout
