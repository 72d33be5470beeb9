"""A short tour of the executor, run by `make run`: state, a tool callback, a limit, a final answer.

    python -m sandcell.demo --address 127.0.0.1:50051   # against a running executor
    python -m sandcell.demo --spawn                      # start a local executor for the demo
"""
from __future__ import annotations

import argparse
import os
import sys

from sandcell.client import ExecutorClient, Limits, ToolSpec
from sandcell.local import ExecutorProcess

__all__ = ["main"]


def _show(title: str, result) -> None:
    print(f"\n== {title}")
    if result.stdout:
        print("stdout:", result.stdout.rstrip())
    print(f"status: {result.status}" + (f"  value: {result.value.repr}" if result.value else "")
          + (f"  (final answer)" if result.is_final_answer else ""))
    if result.message:
        print("message:", result.message)


def demo(address: str, token: str | None = None, *, connect_hint: bool = True) -> bool:
    def exchange_rate(currency: str) -> float:
        return {"EUR": 1.08, "GBP": 1.27}.get(currency, 1.0)

    tool = ToolSpec("exchange_rate", "USD value of one unit of a currency",
                    {"type": "object", "properties": {"currency": {"type": "string"}}}, "number")
    with ExecutorClient(address, token=token) as client:
        print(f"executor at {address}: healthy={client.health()}")
        with client.create_session(tools=[tool], limits=Limits(wall_timeout_ms=2_000)) as s:
            _show("define state", s.execute("prices = {'EUR': 120, 'GBP': 80}\nimport statistics"))
            _show("use it in a later execute, calling a client-side tool",
                  s.execute("usd = {c: round(v * exchange_rate(c), 2) for c, v in prices.items()}\n"
                            "print('in USD:', usd)\nstatistics.mean(usd.values())",
                            tools={"exchange_rate": exchange_rate}))
            _show("hit a limit (a C-level loop past the 2 s timeout)", s.execute("sum(range(10**12))"))
            print(f"service healthy after the limit: {client.health()}")
            _show("state survived the kill", s.execute("sorted(usd)"))
            final = s.execute("final_answer(f\"total {sum(usd.values()):.2f} USD\")")
            _show("final answer", final)
    if connect_hint:  # only for an executor that outlives the demo
        print(f"\nConnect from Python:\n  from sandcell.client import ExecutorClient\n"
              f"  client = ExecutorClient({address!r})\n"
              f"or with grpcurl (reflection is on): grpcurl -plaintext {address} list")
    return final.is_final_answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandcell.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=os.environ.get("SANDCELL_ADDRESS", "127.0.0.1:50051"))
    parser.add_argument("--token", default=os.environ.get("SANDCELL_TOKEN") or None)
    parser.add_argument("--spawn", action="store_true", help="start a local executor for the demo")
    args = parser.parse_args(argv)
    if not args.spawn:
        return 0 if demo(args.address, args.token) else 1
    with ExecutorProcess("--log-level", "WARNING") as proc:
        ok = demo(proc.address, connect_hint=False)
    print("\nThe demo's executor has stopped. To keep one running: `python -m executor` "
          "(listens on 127.0.0.1:50051), or `make run` for the hardened container.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
