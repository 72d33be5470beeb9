"""Length-prefixed JSON frames over a stream socket: the server⇄worker and server⇄zygote wire.

JSON, never pickle: the server must not deserialize anything executable that a sandboxed
process wrote.
"""
from __future__ import annotations

import json
import select
import socket
import struct
import time

__all__ = ["send", "send_by", "recv", "FrameReader", "ChannelClosed", "FrameTooLarge", "MAX_FRAME_BYTES"]

_HEADER = struct.Struct("!I")
# A frame carries one message (code, an output chunk, a result); larger is a protocol error.
MAX_FRAME_BYTES = 16 << 20  # above any result or tool answer; bounds what a hostile worker can make us buffer


class ChannelClosed(EOFError):
    """The peer closed the channel (for a worker: it died)."""


class FrameTooLarge(ValueError):
    """The peer announced a frame larger than MAX_FRAME_BYTES."""


# Built once: json.dumps() with any option builds a new encoder per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    payload = _encode(message).encode()
    data = _HEADER.pack(len(payload)) + payload
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])
    else:
        sock.sendall(data)


def send_by(sock: socket.socket, message: dict, deadline: float) -> None:
    """send() to a peer that may never read (a hostile worker): the whole frame must be taken
    by `deadline` (time.monotonic()), else TimeoutError. The socket stays in blocking mode."""
    payload = _encode(message).encode()
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    poll = None
    while data:
        try:
            data = data[sock.send(data, socket.MSG_DONTWAIT):]
            continue
        except BlockingIOError:
            pass
        if poll is None:
            poll = select.poll()
            poll.register(sock, select.POLLOUT)
        left = deadline - time.monotonic()
        if left <= 0 or not poll.poll(int(left * 1000 + 0.999)):
            raise TimeoutError("the peer did not take the frame before the deadline")


def _frame_size(header: bytes | bytearray) -> int:
    size = int.from_bytes(header[:_HEADER.size], "big")
    if size > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {size} bytes exceeds {MAX_FRAME_BYTES}")
    return size


def _decode(payload: bytes | bytearray) -> dict:
    try:
        message = json.loads(payload.decode())  # UTF-8, as send() writes; else ValueError
    except RecursionError:  # nested deeper than the parser's stack: not a message we send
        raise ValueError("frame nests too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("frame is not a JSON object")
    return message


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ChannelClosed("channel closed")
        buf += chunk
    return bytes(buf)


def recv(sock: socket.socket, *, with_fds: int = 0) -> tuple[dict, list[int]] | dict:
    """Reads one message (blocking: the zygote's control and inbox sockets; worker channels
    go through a FrameReader). With with_fds=N also returns up to N passed descriptors."""
    fds: list[int] = []
    if with_fds:
        msg, anc, _flags, _addr = sock.recvmsg(_HEADER.size, socket.CMSG_SPACE(with_fds * 4))
        if not msg:
            raise ChannelClosed("channel closed")
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4]))
        header = msg + (_recv_exact(sock, _HEADER.size - len(msg)) if len(msg) < _HEADER.size else b"")
    else:
        header = _recv_exact(sock, _HEADER.size)
    message = _decode(_recv_exact(sock, _frame_size(header)))
    return (message, fds) if with_fds else message


class FrameReader:
    """Reads frames from one stream socket (a server⇄worker channel), the way the execute path
    wants it:

    - it waits in poll() for *readable* only. A blocking recv() also wakes whenever the peer
      drains what we sent (the kernel signals "writable" on the same wait queue), which cost
      every execute two extra context switches on whichever CPU was doing the real work;
    - it takes whatever has arrived in one recv() and keeps the rest, so a frame that is
      already there costs one system call, not two, and messages sent back to back are split
      here rather than by more reads.

    Everything that reads the socket must go through the same reader (it may hold bytes)."""

    _CHUNK = 1 << 16

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buf = bytearray()
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)

    def _frame(self) -> dict | None:
        """The next whole frame already buffered, or None."""
        buf = self._buf
        if len(buf) < _HEADER.size:
            return None
        end = _HEADER.size + _frame_size(buf)
        if len(buf) < end:
            return None
        payload = buf[_HEADER.size:end]
        del buf[:end]
        return _decode(payload)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Whether there is something to read (a buffered frame, data, or EOF) within the timeout."""
        if len(self._buf) >= _HEADER.size:
            return True
        return bool(self._poll.poll(None if timeout_s is None else max(0, int(timeout_s * 1000 + 0.999))))

    def recv(self, deadline: float | None = None) -> dict:
        """Reads one message. With a deadline (time.monotonic()), the whole frame must arrive by
        then, else TimeoutError: a peer trickling bytes can't outlast it."""
        while True:
            message = self._frame()
            if message is not None:
                return message
            if deadline is None:
                self._poll.poll()
            else:
                left = deadline - time.monotonic()
                if left <= 0 or not self._poll.poll(int(left * 1000 + 0.999)):
                    raise TimeoutError("no complete frame before the deadline")
            need = _HEADER.size + _frame_size(self._buf) - len(self._buf) if len(self._buf) >= _HEADER.size else 0
            chunk = self.sock.recv(min(max(self._CHUNK, need), 1 << 20))
            if not chunk:
                raise ChannelClosed("channel closed")
            self._buf += chunk
