"""Execute p50 from the Rust client (clients/rust, examples/bench.rs) against a running server.

Run in the same `make bench` as the Python client's latency, against the same server, so the
Python client's own overhead shows: both call the same RPCs on the same warm server.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["measure_rust"]

CRATE = Path(__file__).resolve().parents[1] / "clients" / "rust"


def _cargo() -> str | None:
    return shutil.which("cargo") or next(
        (str(p) for p in [Path.home() / ".cargo" / "bin" / "cargo"] if p.exists()), None)


def measure_rust(address: str, rounds: int = 2000, warmup: int = 200) -> dict:
    """{"echo_p50_ms", "execute_unary_p50_ms", "execute_stream_p50_ms"} from the Rust client, or
    {"skipped": why} when no cargo is installed (the bench still runs the Python figures)."""
    cargo = _cargo()
    if cargo is None:
        return {"skipped": "cargo not found: install Rust (rustup) for the Rust client's figures"}
    # Built before measuring (nice: the machine is shared), so the build never overlaps a timing.
    subprocess.run(["nice", "-n", "10", cargo, "build", "-q", "--release", "--locked", "--example", "bench"],
                   cwd=CRATE, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", CRATE / "target"))
    out = subprocess.run([str(target / "release" / "examples" / "bench"), "--address", address,
                          "--rounds", str(rounds), "--warmup", str(warmup)],
                         check=True, capture_output=True, text=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])
