"""The server⇄worker wire (executor/ipc.py) over real socket pairs: framing, deadlines, bad
frames, and the reader's promise to wake only when there is something to read."""
from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from executor import ipc


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    yield a, b
    a.close()
    b.close()


def test_frames_sent_back_to_back_come_out_one_by_one_in_order(pair):
    a, b = pair
    for i in range(3):
        ipc.send(a, {"op": "out", "n": i, "text": "é" * i})
    reader = ipc.FrameReader(b)
    assert [reader.recv(deadline=time.monotonic() + 5)["n"] for _ in range(3)] == [0, 1, 2]


def test_a_frame_trickled_byte_by_byte_is_reassembled(pair):
    a, b = pair
    body = b'{"op":"result","value":"' + b"x" * 70_000 + b'"}'  # larger than one read
    data = struct.pack("!I", len(body)) + body

    def trickle():
        for i in range(0, len(data), 9_000):
            a.sendall(data[i:i + 9_000])
            time.sleep(0.005)
    threading.Thread(target=trickle).start()
    assert ipc.FrameReader(b).recv(deadline=time.monotonic() + 5)["value"] == "x" * 70_000


def test_a_frame_that_never_completes_times_out_at_the_deadline(pair):
    a, b = pair
    a.sendall(struct.pack("!I", 100) + b'{"op":')
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        ipc.FrameReader(b).recv(deadline=t0 + 0.3)
    assert 0.25 < time.monotonic() - t0 < 2


def test_oversized_announcements_and_non_objects_are_refused(pair):
    a, b = pair
    a.sendall(struct.pack("!I", ipc.MAX_FRAME_BYTES + 1))
    with pytest.raises(ipc.FrameTooLarge):
        ipc.FrameReader(b).recv()
    c, d = socket.socketpair()
    with c, d:
        c.sendall(struct.pack("!I", 2) + b"[]")
        with pytest.raises(ValueError, match="not a JSON object"):
            ipc.FrameReader(d).recv()


def test_a_closed_peer_is_reported_as_closed(pair):
    a, b = pair
    a.sendall(struct.pack("!I", 10) + b"{")
    a.close()
    with pytest.raises(ipc.ChannelClosed):
        ipc.FrameReader(b).recv(deadline=time.monotonic() + 5)


def test_the_peer_draining_what_we_sent_does_not_wake_the_reader(pair):
    """A blocking recv() is also woken when the peer reads our data (write space); poll for
    readable is not. The worker sleeps in this wait between executes, and the server reads
    the worker's result while it sleeps: waking for that cost two context switches."""
    a, b = pair
    reader = ipc.FrameReader(a)
    ipc.send(a, {"op": "result", "pad": "x" * 50_000})
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(reader.wait(timeout_s=0.5)))
    waiter.start()
    time.sleep(0.1)
    assert ipc.FrameReader(b).recv(deadline=time.monotonic() + 5)["pad"]  # the peer drains it
    waiter.join()
    assert woke == [False]  # the wait ran out: nothing to read, and nothing woke it early
    ipc.send(b, {"op": "exec"})
    assert reader.wait(timeout_s=5) and reader.recv()["op"] == "exec"
