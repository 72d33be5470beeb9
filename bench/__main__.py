"""Runs every measurement against a fresh local executor and writes bench/results.json."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from bench.burst import measure_burst
from bench.floor import measure_floor
from bench.measure import cpu_ratios, create_latency, first_execute_latency, idle_memory, latency
from bench.routing import measure_routing
from bench.rust import measure_rust
from sandcell.client import ExecutorClient
from sandcell.local import ExecutorProcess

RESULTS = Path(__file__).with_name("results.json")
TARGETS = {"execute_vs_echo": 1.3, "create_session_p50_ms": 3.0, "cpu_ratio_vs_exec": 0.9, "idle_session_uss_mib": 2.0}


def _container() -> dict | None:
    """Image size and cold start, when the Docker image has been built (issue: make image)."""
    try:
        from bench.container import measure
    except Exception:
        return None
    try:
        return measure()
    except Exception as exc:  # no engine or no image: say so instead of failing the whole bench
        return {"error": f"{type(exc).__name__}: {exc}"}


def _agent_start() -> dict:
    """Agent start → first execute, embedded vs docker (bench/agent_start.py)."""
    try:
        from bench.agent_start import measure
        return measure()
    except Exception as exc:  # no engine or no image: the embedded figure alone is still worth having
        return {"error": f"{type(exc).__name__}: {exc}"}


README = Path(__file__).resolve().parents[1] / "README.md"
_MARK_START, _MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(results: dict) -> None:
    """Put the table between the README's bench markers, so the figures there are the latest run's."""
    text = README.read_text()
    head, _, rest = text.partition(_MARK_START)
    _, _, tail = rest.partition(_MARK_END)
    m = results["machine"]
    block = (f"{_MARK_START}\nMeasured {results['when']} ({m['cpus']} CPUs, Python {m['python']}, "
             f"kernel {m['kernel']}) by `make bench`; raw figures in `bench/results.json`.\n\n"
             f"```\n{table(results)}\n```\n{_MARK_END}")
    README.write_text(head + block + tail)


def main() -> int:
    if "--table" in sys.argv:  # re-render the last run, e.g. for the README
        results = json.loads(RESULTS.read_text())
        print(table(results))
        if "--readme" in sys.argv:
            update_readme(results)
        return 0
    quick = "--quick" in sys.argv
    with ExecutorProcess("--max-sessions", "260", "--log-level", "WARNING") as proc, \
            ExecutorClient(proc.address, timeout_s=300) as client:
        lat = latency(client, rounds=300 if quick else 2000)
        create = create_latency(client, rounds=50 if quick else 200)
        first = first_execute_latency(client, rounds=30 if quick else 100)
        cpu = cpu_ratios(client, rounds=5 if quick else 15, smol_rounds=1 if quick else 3)
        mem = idle_memory(client, proc, count=50 if quick else 200)
        rust = measure_rust(proc.address, rounds=300 if quick else 2000)
    floor = measure_floor(rounds=300 if quick else 2000)
    routing = measure_routing(rounds=300 if quick else 1000)
    burst = measure_burst(seconds=2 if quick else 5)
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "execute_p50_ms": lat["execute_unary"]["p50"], "execute_p99_ms": lat["execute_unary"]["p99"],
        "execute_stream_p50_ms": lat["execute_stream"]["p50"], "execute_stream_p99_ms": lat["execute_stream"]["p99"],
        "execute_raw_p50_ms": lat["execute_raw"]["p50"],
        "echo_p50_ms": lat["echo"]["p50"], "echo_p99_ms": lat["echo"]["p99"],
        "create_session_p50_ms": create["p50"], "create_session_p99_ms": create["p99"],
        "first_execute_p50_ms": first["p50"], "first_execute_p99_ms": first["p99"],
        "cpu_ms": {"sandcell": cpu["ours_ms"], "exec": cpu["exec_ms"], "smolagents": cpu["smolagents_ms"]},
        "cpu_ratio_vs_exec": cpu["ratio_vs_exec"], "cpu_ratio_vs_smolagents": cpu["ratio_vs_smolagents"],
        "idle_session_uss_mib": mem["uss_mib_mean"], "idle_sessions_measured": mem["sessions"],
        "hop_floor": floor, "burst": burst,
        "rust_client": rust,
        "routing": routing,
    }
    from bench.compat import measure_compat
    compat = measure_compat()
    results["compat"] = {"snippets": compat["snippets"], "sandcell_pct": compat["sandcell_pct"],
                         "smolagents_pct": compat["smolagents_pct"]}
    results["agent_start"] = _agent_start()
    container = _container()
    if container:
        results["container"] = container
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    if "--readme" in sys.argv:
        update_readme(results)
    return 0


def _rust_rows(r: dict) -> list[tuple[str, str, str]]:
    """The Rust client's execute beside the Python client's (bench/rust.py), same server, same run."""
    rust = r.get("rust_client")
    if not rust:
        return []
    if "skipped" in rust:
        return [("execute p50 from the Rust client", "skipped", rust["skipped"])]
    return [
        ("execute p50 from the Rust client (unary / stream)",
         f"{rust['execute_unary_p50_ms']:.3f} / {rust['execute_stream_p50_ms']:.3f} ms", ""),
        ("  Rust execute p50 (unary) ÷ Rust echo p50", f"{rust['execute_unary_p50_ms'] / rust['echo_p50_ms']:.2f}×", ""),
        ("  Python client ÷ Rust client, execute p50 (unary / stream)",
         f"{r['execute_p50_ms'] / rust['execute_unary_p50_ms']:.2f}× / "
         f"{r['execute_stream_p50_ms'] / rust['execute_stream_p50_ms']:.2f}×", ""),
    ]


def table(r: dict) -> str:
    ratio = r["execute_p50_ms"] / r["echo_p50_ms"]
    rows = [
        ("execute round trip p50 / p99 (unary)", f"{r['execute_p50_ms']:.3f} / {r['execute_p99_ms']:.3f} ms", ""),
        ("execute round trip p50 / p99 (stream)", f"{r['execute_stream_p50_ms']:.3f} / {r['execute_stream_p99_ms']:.3f} ms", ""),
        ("bare gRPC echo p50 / p99 (same server)", f"{r['echo_p50_ms']:.3f} / {r['echo_p99_ms']:.3f} ms", ""),
        ("execute p50 ÷ echo p50", f"{ratio:.2f}×", f"≤ {TARGETS['execute_vs_echo']}×"),
        *([("  same, through the generated stub (no typed client)",
            f"{r['execute_raw_p50_ms'] / r['echo_p50_ms']:.2f}×", "")] if "execute_raw_p50_ms" in r else []),
        *([("  floor: bare handler + do-nothing process, ÷ its echo",  # bench/floor.py
            f"{r['hop_floor']['ratio']:.2f}×", "")] if "hop_floor" in r else []),
        *([("  unsandboxed executor on that hop, ÷ its echo",  # bench/floor.py
            f"{r['hop_floor']['plain_ratio']:.2f}×", "")] if "plain_ratio" in r.get("hop_floor", {}) else []),
        *_rust_rows(r),
        ("create session p50 / p99", f"{r['create_session_p50_ms']:.2f} / {r['create_session_p99_ms']:.2f} ms", "p50 ≤ 3 ms"),
    ]
    if "first_execute_p50_ms" in r:
        rows.append(("first execute on a new session p50 / p99",
                     f"{r['first_execute_p50_ms']:.2f} / {r['first_execute_p99_ms']:.2f} ms", ""))
    for name in r["cpu_ratio_vs_exec"]:
        rows.append((f"CPU {name}: speed vs plain exec", f"{r['cpu_ratio_vs_exec'][name]:.2f}×", "≥ 0.9×"))
        rows.append((f"CPU {name}: speed vs smolagents local", f"{r['cpu_ratio_vs_smolagents'][name]:.0f}×", ""))
    if "burst" in r:
        b = r["burst"]
        rows.append((f"burst: {b['callers']} callers on {b['slots']} slots, executes/s",
                     f"{b['executes_per_s']:.0f} /s", ""))
        rows.append(("  burst execute p50 / p99, errors", f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} ms, {b['errors']}",
                     "0 errors"))
    rows.append((f"idle session USS (mean of {r['idle_sessions_measured']})", f"{r['idle_session_uss_mib']:.2f} MiB", "≤ 2 MiB"))
    if "compat" in r:
        c = r["compat"]
        rows.append((f"agent code unchanged ({c['snippets']} snippets)",
                     f"{c['sandcell_pct']:.1f}% (smolagents {c['smolagents_pct']:.1f}%)", "≥ 99%"))
    a = r.get("agent_start", {})
    if "docker_s_p50" in a:
        rows.append(("agent start → first execute, embedded / docker p50",
                     f"{a['embedded_s_p50']:.2f} / {a['docker_s_p50']:.2f} s ({a['docker_vs_embedded']}×)", ""))
    elif "error" in a:
        rows.append(("agent start → first execute", a["error"][:60], ""))
    if "routing" in r:  # bench/routing.py
        g = r["routing"]
        rows.append(("execute p50 through a forwarding replica vs direct (unary)",
                     f"{g['forwarded_unary_p50_ms']:.3f} vs {g['direct_unary_p50_ms']:.3f} ms "
                     f"({g['forwarded_vs_direct_unary']}×)", ""))
        rows.append(("  same, stream", f"{g['forwarded_stream_p50_ms']:.3f} vs {g['direct_stream_p50_ms']:.3f} ms "
                     f"({g['forwarded_vs_direct_stream']}×)", ""))
    if "container" in r:
        for key, value in r["container"].items():
            if key != "runtimes":
                rows.append((f"container {key}", str(value), ""))
        for rt, v in r["container"].get("runtimes", {}).items():
            rows.append((f"container under {rt}: execute p50 / create p50 / idle session",
                         f"{v['execute_p50_ms']:.2f} ms / {v['create_p50_ms']:.1f} ms / {v['idle_session_mib']:.1f} MiB", ""))
    width = max(len(a) for a, _, _ in rows)
    lines = [f"{'measure':<{width}}  {'result':>26}  target", "-" * (width + 40)]
    lines += [f"{a:<{width}}  {b:>26}  {c}" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
