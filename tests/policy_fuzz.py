"""Fuzzing the policy: programs from Python's grammar (hypothesmith) and mutations of the
escape corpus (names, attributes, parameters, patterns and imports swapped for the names the
policy guards), each checked two ways:

- compiled by the policy, the code keeps the invariant (executor/policy/invariant.py);
- run in a real worker, it is refused or ends as an ordinary user error: no dead worker, no
  SystemError, no error that leaks the policy's hidden names, the service stays up.

tests/test_policy_fuzz.py runs a bounded, derandomized batch in `make test`; `make fuzz` runs
a long random one (SANDCELL_FUZZ_EXAMPLES). A failing program is saved to
tests/fuzz_cases/ and replayed by the regression test from then on.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import hypothesmith
from hypothesis import strategies as st

from executor.policy import PolicyViolation
from executor.policy.invariant import violations

CASES = Path(__file__).parent / "fuzz_cases"

# Names the policy guards: its hooks, reserved names, refused and allowed dunders, frame
# internals, methods routed through guards.
POOL = ("_sc_final_check", "_sc_format_attr", "_sc_instance_dict", "_sc_slot_setter",
        "_sc_match_classes", "_sc_mc", "c0", "final_answer",
        "__builtins__", "__import__", "__globals__", "__class__", "__dict__", "__subclasses__",
        "__match_args__", "__prepare__", "__setattr__", "__getattribute__", "__init__",
        "__code__", "__closure__", "gi_frame", "f_globals", "format", "format_map", "x", "y",
        "self", "_private", "globals", "locals", "vars", "getattr", "type", "object", "math",
        "collections", "os")

SEEDS = (
    "match victim:\n    case object(attr=g):\n        leaked = g",
    "class Any:\n    __match_args__ = ('x',)\nmatch v:\n    case Any(g):\n        pass",
    "def attack(x=None, /, *y, z=1, **w):\n    return x.y\nattack()",
    "f = lambda x, /: x.y",
    "[x for x in y if (z := x)]",
    "try:\n    pass\nexcept Exception as e:\n    e.x",
    "with open('a', 'w') as f:\n    f.write('x')",
    "import math as m\nfrom math import pi as p\nm.x = p",
    "class C:\n    def __init__(self):\n        self.x = 1\n    def m(self):\n        return super().x",
    "def f():\n    global x\n    x = 1",
    "match {}:\n    case {'a': [*rest], **others}:\n        pass",
    "object.__setattr__(o, 'x', 1)",
    "'{0.x}'.format(o)",
    "class M(type):\n    def __instancecheck__(cls, o):\n        return True",
    "class C:\n    try:\n        x.y\n    except Exception as e:\n        pass",
    "class C:\n    match v:\n        case object(x=a):\n            pass",
    "def f(v):\n    match v:\n        case [C(x), {'k': D(y)}]:\n            return x",
    "object.__setattr__(C, 'x', getattr(o, 'y'))",
    "setattr(o, 'x', 1)\ndelattr(o, 'x')\nhasattr(o, 'x')",
    "'{0.x}'.format(o)\nf'{o.x!r:>{w}}'",
)


def _renamable(node: ast.AST) -> list[tuple[ast.AST, str]]:
    """(node, field) pairs of a tree whose value is a name the policy looks at."""
    out = []
    for n in ast.walk(node):
        for field in ("id", "attr", "arg", "name", "asname", "rest"):
            if isinstance(getattr(n, field, None), str):
                out.append((n, field))
        if isinstance(n, ast.MatchClass) and n.kwd_attrs:
            out.append((n, "kwd_attrs"))
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            out.append((n, "names"))
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append((n, "value"))
    return out


@st.composite
def mutated_seeds(draw) -> str:
    """A seed with some of its names swapped for names from POOL."""
    tree = ast.parse(draw(st.sampled_from(SEEDS)))
    targets = _renamable(tree)
    for _ in range(draw(st.integers(1, 4))):
        node, field = draw(st.sampled_from(targets))
        new = draw(st.sampled_from(POOL))
        if field == "value" and draw(st.booleans()):
            new = "{0.%s}" % new  # a str.format field walk
        if field in ("kwd_attrs", "names"):
            setattr(node, field, [new] * len(getattr(node, field)))
        else:
            setattr(node, field, new)
    return ast.unparse(tree)


def programs():
    return st.one_of(hypothesmith.from_grammar(), mutated_seeds())


def compiled_problems(policy, source: str) -> list[str]:
    """The invariant breaches of `source` compiled by the policy ([] if it is refused)."""
    try:
        cell = policy.compile(source)
    except (PolicyViolation, SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # refused, or not a program CPython compiles: nothing runs
    return violations(cell.body, cell.expr)


def run_problem(session, source: str) -> str | None:
    """Why running `source` in a worker was not an ordinary outcome, or None."""
    r = session.execute(source)
    if r.restored or r.status not in ("ok", "error", "timeout"):
        return f"status {r.status}, restored={r.restored}: {r}"
    if r.status == "error":
        if r.error.type in ("SystemError",):
            return f"interpreter error: {r.error}"
        if "_sc_" in r.error.message and "_sc_" not in source:
            return f"the policy's hidden names leaked into an error: {r.error}"
    return None


def save_case(source: str) -> Path:
    """Keep a failing program as a regression case (replayed by test_policy_fuzz.py)."""
    CASES.mkdir(exist_ok=True)
    path = CASES / f"{hashlib.sha1(source.encode()).hexdigest()[:12]}.py"
    path.write_text(source)
    return path


def saved_cases() -> list[Path]:
    return sorted(CASES.glob("*.py")) if CASES.is_dir() else []
