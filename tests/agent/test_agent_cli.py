"""`agent run` as a user runs it: a subprocess, a loopback model, a real executor."""
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

from scripted_llm import calls, error, text


def run_cli(llm, address, *args: str) -> subprocess.CompletedProcess:
    # Credentials and endpoints come from the usual environment variables, as for a user.
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": llm.base_url,
           "SANDCELL_EXECUTOR": address, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "agent", "run", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_shows_steps_and_exits_zero_on_success(llm, agent_executor_address):
    llm.script(text("Thought: compute the squares first\n<code>\nsquares = [i * i for i in range(4)]\n"
                    "print(squares)\n"),
               text("Thought: this fails\n<code>\nsquares[10]\n"),
               text("Thought: now answer\n<code>\nfinal_answer(sum(squares))\n"))
    proc = run_cli(llm, agent_executor_address, "Sum the first four squares", "--model-type", "openai",
                   "--model", "scripted-model", "--max-steps", "5")
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for fragment in ("Step 1", "compute the squares first", "squares = [i * i for i in range(4)]",
                     "[0, 1, 4, 9]", "Step 2", "IndexError", "line 1", "Step 3", "final answer", "14",
                     "tokens in 11, out 7"):
        assert fragment in out, f"{fragment!r} missing from:\n{out}"
    assert out.index("Step 1") < out.index("[0, 1, 4, 9]") < out.index("Step 2") < out.index("IndexError")
    assert llm.headers[0]["authorization"] == "Bearer sk-cli"


def test_cli_default_litellm_backend_as_in_the_readme(llm, agent_executor_address):
    # `agent run "..." --model openai/<id>`: litellm, with OPENAI_API_KEY / OPENAI_BASE_URL from the environment
    llm.script(text("Thought: easy\n<code>\nimport math\nfinal_answer(math.gcd(12, 18))\n"))
    proc = run_cli(llm, agent_executor_address, "gcd of 12 and 18", "--model", "openai/scripted-model")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "final answer" in proc.stdout and "6" in proc.stdout.split("final answer")[1]
    assert llm.requests[0]["model"] == "scripted-model"
    assert llm.headers[0]["authorization"] == "Bearer sk-cli"


def test_cli_tool_calling_agent(llm, agent_executor_address):
    llm.script(calls(("final_answer", {"answer": "forty-two"})))
    proc = run_cli(llm, agent_executor_address, "answer", "--agent", "tool-calling", "--model-type", "openai",
                   "--model", "m")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "final_answer" in proc.stdout and "forty-two" in proc.stdout


def test_cli_exits_non_zero_when_max_steps_is_reached(llm, agent_executor_address):
    llm.script(text("<code>\nx = 1\n"), text("I could not finish."))
    proc = run_cli(llm, agent_executor_address, "loop forever", "--model-type", "openai", "--model", "m",
                   "--max-steps", "1")
    assert proc.returncode == 1
    assert "I could not finish." in proc.stdout and "max steps" in proc.stdout


def test_cli_exits_non_zero_on_bad_credentials(llm, agent_executor_address):
    llm.script(error(401, "invalid api key"))
    proc = run_cli(llm, agent_executor_address, "t", "--model-type", "openai", "--model", "m")
    assert proc.returncode == 1
    assert "AuthenticationError" in proc.stdout and "OPENAI_API_KEY" not in proc.stdout.split("credentials")[0]


def test_cli_exits_non_zero_when_the_executor_is_unreachable(llm):
    llm.script(text("<code>\nx = 1\n"))
    proc = run_cli(llm, "127.0.0.1:1", "t", "--model-type", "openai", "--model", "m")
    assert proc.returncode == 1
    assert "ExecutorUnavailable" in proc.stdout and "127.0.0.1:1" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_cli_usage_error_is_exit_status_two():
    proc = subprocess.run([sys.executable, "-m", "agent", "run"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--model" in proc.stderr


def test_sigterm_closes_the_session_and_stops_the_embedded_executor(llm):
    llm.script(text("<code>\nimport time\nprint('working')\ntime.sleep(60)\n"))
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": llm.base_url}
    env.pop("SANDCELL_EXECUTOR", None)  # no running executor: the CLI starts its own
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "t", "--model-type", "openai", "--model", "m",
                             "--executor", "local"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("working" in line for line in lines):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        executors = [p for p in psutil.Process(proc.pid).children()
                     if "executor" in " ".join(p.cmdline()) and "agent" not in " ".join(p.cmdline())]
        assert len(executors) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
        gone, alive = psutil.wait_procs(executors, timeout=30)
        assert not alive, "the embedded executor outlived the CLI"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_reaches_an_mtls_executor_as_the_certificate_tenant(llm, tmp_path):
    """`agent run --executor host:port --tls-ca --tls-cert --tls-key` against a server that
    requires client certificates: the session belongs to the certificate's tenant."""
    from sandcell.local import ExecutorProcess
    from tests.certs import CertificateAuthority
    ca = CertificateAuthority(tmp_path, "ca")
    server, client = ca.issue("executor", server=True), ca.issue("cli-user")
    with ExecutorProcess("--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", ca.cert) as proc:
        llm.script(text("Thought: answer\n<code>\nfinal_answer(6 * 7)\n"))
        ok = run_cli(llm, proc.address, "Multiply", "--model-type", "openai", "--model", "scripted-model",
                     "--tls-ca", ca.cert, "--tls-cert", client.cert, "--tls-key", client.key)
        assert ok.returncode == 0 and "42" in ok.stdout, ok.stdout + ok.stderr
        assert '"tenant": "cli-user"' in proc.log()
        llm.script(text("Thought: answer\n<code>\nfinal_answer(1)\n"))
        refused = run_cli(llm, proc.address, "Multiply", "--model-type", "openai", "--model", "scripted-model",
                          "--tls-ca", ca.cert)  # no client certificate
        assert refused.returncode != 0
