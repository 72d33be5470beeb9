"""A TCP forwarder: the only way into the executor container, which has no way out.

Why it exists: the executor sits on a Docker network with `internal: true`, which gives
its container no route off that network, so code that gets past every other layer still
cannot connect out. Docker does not publish ports of a container that is only on internal
networks, so this process, on the internal network and on an ordinary bridge, accepts the
host's gRPC connections and relays the bytes. It parses nothing (gRPC, TLS and auth pass
through untouched) and imports only the standard library, so it is small enough to read.

    python forwarder.py --listen 0.0.0.0:50051 --target executor:50051
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys

log = logging.getLogger("sandcell.forwarder")
CHUNK = 64 * 1024


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def _nodelay(writer: asyncio.StreamWriter) -> None:
    # gRPC sends small frames and waits for replies: Nagle would add delay to each.
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other direction may still be talking
    except (ConnectionError, OSError):
        writer.close()


class Forwarder:
    def __init__(self, target: tuple[str, int], max_connections: int):
        self.target = target
        self.slots = asyncio.Semaphore(max_connections)

    async def handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        peer = c_writer.get_extra_info("peername")
        async with self.slots:
            try:
                # Resolved per connection: a restarted executor may come back at a new address.
                t_reader, t_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 10)
            except (OSError, asyncio.TimeoutError) as exc:
                log.warning("target %s:%d unreachable for %s: %s", *self.target, peer, exc)
                c_writer.close()
                return
            _nodelay(c_writer)
            _nodelay(t_writer)
            try:
                await asyncio.gather(_pump(c_reader, t_writer), _pump(t_reader, c_writer))
            finally:
                for w in (c_writer, t_writer):
                    w.close()


async def serve(listen: tuple[str, int], target: tuple[str, int], max_connections: int) -> None:
    fwd = Forwarder(target, max_connections)
    server = await asyncio.start_server(fwd.handle, *listen, reuse_address=True)
    log.warning("forwarding %s:%d -> %s:%d", *listen, *target)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:50051")
    parser.add_argument("--target", default="executor:50051")
    parser.add_argument("--max-connections", type=int, default=512)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="forwarder: %(message)s", stream=sys.stderr)
    asyncio.run(serve(_split(args.listen), _split(args.target), args.max_connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
