"""The server's side of a worker's channel is untrusted input: a session whose operator
allowed `os` can write any bytes there. Forged output must not pass the output cap, a
half-written frame must not hold an execute past its deadline, and a forged result is
refused (the worker is killed and the session restored)."""
from __future__ import annotations

import time

import pytest

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess

# Finds the channel: the one socket among the worker's descriptors (S_IFSOCK), and writes frames.
WRITER = """
import os, struct
chan = next(fd for fd in range(3, 64)
            if (lambda m: m is not None and m & 0o170000 == 0o140000)(
                (lambda f: os.fstat(f).st_mode if f in _fds else None)(fd)))
def send(body: bytes):
    os.write(chan, struct.pack('!I', len(body)) + body)
"""


@pytest.fixture(scope="module")
def widened():
    with ExecutorProcess("--allowed-imports", "os,struct,signal,time") as proc, \
            ExecutorClient(proc.address, timeout_s=60) as c:
        yield proc, c


def _writer():
    # _fds: the descriptors that exist (fstat on a closed one raises)
    return "import os\n_fds = set()\nfor _fd in range(3, 64):\n    try:\n        os.fstat(_fd)\n" \
           "        _fds.add(_fd)\n    except OSError:\n        pass\n" + WRITER


def test_forged_output_cannot_pass_the_output_cap(widened):
    proc, c = widened
    with c.create_session(limits=Limits(output_bytes=1000, wall_timeout_ms=5_000)) as s:
        s.execute("kept = 'yes'")
        r = s.execute(_writer() + "body = b'{\"op\": \"out\", \"stream\": \"stdout\", \"text\": \"' + b'x' * 100000 + b'\"}'\n"
                      "for _ in range(20):\n    send(body)\n'done'")
        assert len(r.stdout.encode()) <= 1000 and r.output_truncated, (len(r.stdout), r)
        assert s.execute("kept").value.python() == "yes"
    assert c.health()


STALLS = {
    # A frame started and never finished.
    "half-written": "os.write(chan, b'\\x00\\x00\\x01\\x00{')\ntime.sleep(60)",
    # Each byte arrives well within any per-read timeout; the whole frame never does.
    "trickled": "os.write(chan, b'\\x00\\x00\\x01\\x00')\nfor _ in range(256):\n"
                "    os.write(chan, b' ')\n    time.sleep(0.5)",
}


@pytest.mark.parametrize("stall", STALLS.values(), ids=STALLS.keys())
def test_unfinished_frame_cannot_outlive_the_deadline(widened, stall):
    proc, c = widened
    with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        s.execute("kept = 'yes'")
        t0 = time.monotonic()
        r = s.execute(_writer() + "import signal, time\n"
                      "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGPROF})\n" + stall)
        assert time.monotonic() - t0 < 15, "the execute outlived its deadline"
        assert r.status == "timeout" and r.restored, r
        assert s.execute("kept").value.python() == "yes"
    assert c.health()


def test_forged_result_kills_the_worker_and_restores(widened):
    proc, c = widened
    with c.create_session(limits=Limits(wall_timeout_ms=5_000)) as s:
        s.execute("kept = 'yes'")
        r = s.execute(_writer() + "send(b'{\"op\": \"result\", \"status\": \"bogus\", \"value\": 7}')\nimport time\ntime.sleep(2)")
        assert r.status == "killed" and r.restored and "protocol" in r.message, r
        assert s.execute("kept").value.python() == "yes"
    assert c.health()
