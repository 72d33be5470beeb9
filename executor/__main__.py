"""`python -m executor` / `sandcell-executor`: serve until SIGTERM or SIGINT."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from executor.config import parse_config
from executor.logs import setup_logging
from executor.server import build_server

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    setup_logging(config.log_level, config.log_json)
    log = logging.getLogger("sandcell.server")
    try:
        running = build_server(config)
    except ValueError as exc:  # a setting the server cannot work with: say which, no traceback
        print(f"sandcell-executor: error: {exc}", file=sys.stderr)
        return 2
    address = f"{config.host}:{running.port}"
    if config.ready_file:
        tmp = config.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(address)
        os.replace(tmp, config.ready_file)  # readers never see a half-written address
    log.info("serving", extra={"event": "serving", "address": address,
                               "auth": running.auth.enabled if running.auth else False, "tls": bool(config.tls_cert),
                               "mtls": bool(config.tls_client_ca),
                               "allowed_imports": list(config.allowed_imports)})
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if running.auth is not None:  # SIGHUP: re-read the credentials file now (it is also checked on change)
        signal.signal(signal.SIGHUP, lambda *_: running.auth.reload())
    if config.parent_pid:
        threading.Thread(target=_watch_parent, args=(config.parent_pid, stop), daemon=True).start()
    stop.wait()
    log.info("shutting down", extra={"event": "shutdown", "grace_s": config.shutdown_grace_s})
    running.stop(config.shutdown_grace_s)
    return 0


def _watch_parent(pid: int, stop: threading.Event) -> None:
    """An embedded executor must not outlive its program, even one killed with SIGKILL."""
    while not stop.wait(1.0):
        if os.getppid() != pid:
            stop.set()


if __name__ == "__main__":
    sys.exit(main())
