"""An executor started by a program (sandcell.local.ExecutorProcess) goes when that program
goes, even if it was killed with SIGKILL and could not clean up."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

PROGRAM = """
import sys
from sandcell.local import ExecutorProcess
proc = ExecutorProcess()
print(proc.pid, flush=True)
sys.stdin.read()
"""


def test_embedded_executor_exits_when_its_program_is_killed():
    prog = subprocess.Popen([sys.executable, "-c", PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    server_pid = int(prog.stdout.readline())
    server = psutil.Process(server_pid)
    zygote = [p for p in server.children() if "executor.zygote" in " ".join(p.cmdline())]
    assert zygote and server.is_running()
    prog.send_signal(signal.SIGKILL)
    prog.wait(5)
    gone, alive = psutil.wait_procs([server, *zygote], timeout=15)
    assert not alive, f"still running after their program was killed: {alive}"
