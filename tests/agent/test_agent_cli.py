"""`agent run` as a user runs it: a subprocess, a loopback model, a real executor."""
import os
import subprocess
import sys

from scripted_llm import error, text


def run_cli(llm, executor_address, *args: str) -> subprocess.CompletedProcess:
    # Credentials and endpoints come from the usual environment variables, as for a user.
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": llm.base_url,
           "SANDCELL_EXECUTOR": executor_address, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "agent", "run", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_shows_steps_and_exits_zero_on_success(llm, executor_address):
    llm.script(text("Thought: compute the squares first\n<code>\nsquares = [i * i for i in range(4)]\n"
                    "print(squares)\n"),
               text("Thought: this fails\n<code>\nsquares[10]\n"),
               text("Thought: now answer\n<code>\nfinal_answer(sum(squares))\n"))
    proc = run_cli(llm, executor_address, "Sum the first four squares", "--model-type", "openai",
                   "--model", "scripted-model", "--max-steps", "5")
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for fragment in ("Step 1", "compute the squares first", "squares = [i * i for i in range(4)]",
                     "[0, 1, 4, 9]", "Step 2", "IndexError", "line 1", "Step 3", "final answer", "14",
                     "tokens in 11, out 7"):
        assert fragment in out, f"{fragment!r} missing from:\n{out}"
    assert out.index("Step 1") < out.index("[0, 1, 4, 9]") < out.index("Step 2") < out.index("IndexError")
    assert llm.headers[0]["authorization"] == "Bearer sk-cli"


def test_cli_exits_non_zero_when_max_steps_is_reached(llm, executor_address):
    llm.script(text("<code>\nx = 1\n"), text("I could not finish."))
    proc = run_cli(llm, executor_address, "loop forever", "--model-type", "openai", "--model", "m",
                   "--max-steps", "1")
    assert proc.returncode == 1
    assert "I could not finish." in proc.stdout and "max steps" in proc.stdout


def test_cli_exits_non_zero_on_bad_credentials(llm, executor_address):
    llm.script(error(401, "invalid api key"))
    proc = run_cli(llm, executor_address, "t", "--model-type", "openai", "--model", "m")
    assert proc.returncode == 1
    assert "AuthenticationError" in proc.stdout and "OPENAI_API_KEY" not in proc.stdout.split("credentials")[0]


def test_cli_usage_error_is_exit_status_two():
    proc = subprocess.run([sys.executable, "-m", "agent", "run"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--model" in proc.stderr
