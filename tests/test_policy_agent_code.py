"""Ordinary agent code that the policy used to refuse, run through the real service and
compared with plain CPython: the same printed output and the same value."""
from __future__ import annotations

import contextlib
import io
import sys

import pytest

ASYNC_GATHER_QUEUE = """
import asyncio

async def work(i):
    await asyncio.sleep(0.001 * (5 - i))
    return i * 2

async def producer(q, n):
    for i in range(n):
        await q.put(i)
    await q.put(None)

async def consumer(q):
    got = []
    while (item := await q.get()) is not None:
        got.append(item)
    return got

async def main():
    doubled = await asyncio.gather(*(work(i) for i in range(5)))
    q = asyncio.Queue(maxsize=2)
    _, got = await asyncio.gather(producer(q, 4), consumer(q))
    task = asyncio.create_task(work(7))
    lock, event = asyncio.Lock(), asyncio.Event()
    async with lock:
        event.set()
    await event.wait()
    async with asyncio.timeout(5):
        late = await asyncio.wait_for(task, 5)
    return doubled, got, late

doubled, got, late = asyncio.run(main())
print(doubled, got, late)
[doubled, got, late]
"""

ASYNC_FOR_WITH = """
import asyncio

class Resource:
    async def __aenter__(self):
        print("open")
        return self
    async def __aexit__(self, *exc):
        print("close")
        return False

async def ticks(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i

async def main():
    out = []
    async with Resource() as r:
        async for v in ticks(3):
            out.append(v)
    out += [v * 10 async for v in ticks(2)]
    return out

asyncio.run(main())
"""

AGENT_CODE = {
    "from collections.abc import": (
        "from collections.abc import Iterable, Mapping\n"
        "print(isinstance([1], Iterable), isinstance({}, Mapping))\n"
        "[isinstance(x, Iterable) for x in (1, 'a', [])]", ()),
    "collections.abc as an attribute": (
        "import collections\nprint(collections.abc.Mapping.__name__)\n"
        "[issubclass(dict, collections.abc.Mapping), issubclass(int, collections.abc.Hashable)]", ()),
    "future annotations": (
        "from __future__ import annotations\n\ndef f(x: Later) -> list[Later]:\n    return [x]\n\n"
        "class Later:\n    pass\n\nprint(f.__annotations__)\nlen(f(Later()))", ()),
    "asyncio run, gather, Queue, tasks, locks, timeouts": (ASYNC_GATHER_QUEUE, ("asyncio",)),
    "async for and async with": (ASYNC_FOR_WITH, ("asyncio",)),
    "globals() membership": ("x = 1\nif 'x' in globals():\n    print('have x')\n['y' in globals(), globals()['x']]", ()),
    "locals() in a function": ("def f(a, b=2):\n    c = a + b\n    return sorted(locals())\nf(1)", ()),
    "match with class patterns": (
        "class Point:\n    __match_args__ = ('x', 'y')\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n\n"
        "def where(p):\n    match p:\n        case Point(0, 0):\n            return 'origin'\n"
        "        case Point(x, 0) | Point(0, x):\n            return f'axis {x}'\n"
        "        case Point(x=x, y=y) if x == y:\n            return 'diagonal'\n"
        "        case [Point(a, b), *rest]:\n            return f'list {a} {b} {len(rest)}'\n"
        "        case int(n) | float(n):\n            return f'number {n}'\n"
        "        case {'k': str(s), **others}:\n            return f'map {s} {others}'\n"
        "        case _:\n            return 'other'\n\n"
        "values = (Point(0, 0), Point(3, 0), Point(0, 4), Point(2, 2), [Point(5, 6), 1], 7, 2.5, {'k': 'v', 'z': 1}, 'x')\n"
        "[where(v) for v in values]", ()),
}
if sys.version_info >= (3, 12):
    AGENT_CODE["type parameter syntax"] = (
        "def first[T](xs: list[T]) -> T:\n    return xs[0]\n\nclass Box[T]:\n    def __init__(self, v: T):\n"
        "        self.v = v\n    def get(self) -> T:\n        return self.v\n\ntype Pair[T] = tuple[T, T]\n"
        "print(Pair.__name__, Box[int].__name__ if hasattr(Box[int], '__name__') else 'alias')\n"
        "[first([3, 4]), Box('b').get()]", ())


def plain_cpython(code: str):
    """What plain CPython prints and returns for `code` (the trailing expression's value)."""
    body, _, last = code.rstrip("\n").rpartition("\n")
    ns: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(body, "<plain>", "exec"), ns)
        value = eval(compile(last, "<plain>", "eval"), ns)
    return out.getvalue(), value


@pytest.mark.parametrize("code,imports", AGENT_CODE.values(), ids=AGENT_CODE.keys())
def test_agent_code_runs_as_in_plain_python(client, code, imports):
    expected_stdout, expected_value = plain_cpython(code)
    with client.create_session(extra_imports=imports) as s:
        r = s.execute(code)
        assert r.ok, r.error
        assert r.stdout == expected_stdout
        assert r.value.python() == expected_value
