"""The invariant on compiled code (executor/policy/invariant.py), over every corpus of code the
tests and benchmarks hold: whatever the policy compiles reads no refused attribute, reaches
class-pattern attributes only through checked names, and binds no hook or reserved name.
And the checker itself: it must flag the very things the policy refuses, when they are
compiled without the policy."""
from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path

import pytest

from bench.compat_corpus import SNIPPETS
from executor.config import DEFAULT_ALLOWED_IMPORTS
from executor.policy import Policy, PolicyConfig, PolicyViolation
from executor.policy.invariant import violations
from tests import test_isolation, test_policy, test_policy_bypass

WIDE = DEFAULT_ALLOWED_IMPORTS + test_policy.WIDER + ("asyncio",)


def corpus() -> dict[str, str]:
    """Every snippet the suites and the compat benchmark hold, by a readable id."""
    out: dict[str, str] = {}
    tables = {
        "escape": {k: v[0] for k, v in test_policy.ESCAPES.items()},
        "wide-escape": {k: v[0] for k, v in test_policy.WIDE_ESCAPES.items()},
        "positive": {k: v[0] for k, v in test_policy.POSITIVE.items() if v[0]},
        "wide-positive": {k: v[0] for k, v in test_policy.WIDE_POSITIVE.items()},
        "swallower": test_policy.SWALLOWERS,
        "pep695": test_policy.PEP695,
        "pattern-read": {k: v[0] for k, v in test_policy_bypass.PATTERN_READS.items()},
        "shadowing": test_policy_bypass.SHADOWING,
        "isolation": test_isolation.POLICY_ESCAPES,
        "compat": {s.name: s.code for s in SNIPPETS},
    }
    for table, snippets in tables.items():
        for name, code in snippets.items():
            out[f"{table}:{name}"] = code
    for site, template in {**test_policy_bypass.BINDING_SITES, **test_policy_bypass.TYPE_PARAM_SITES}.items():
        for name in test_policy_bypass.HOOK_NAMES:
            out[f"binding:{site}:{name}"] = template.format(n=name)
    return out


CORPUS = corpus()


@pytest.fixture(scope="module")
def policy():
    return Policy(PolicyConfig(allowed_imports=WIDE))


def test_the_corpus_is_large_and_mostly_compiles(policy):
    compiled = 0
    for code in CORPUS.values():
        try:
            policy.compile(code)
            compiled += 1
        except (PolicyViolation, SyntaxError):
            pass
    assert len(CORPUS) > 700 and compiled > 350, (len(CORPUS), compiled)


@pytest.mark.parametrize("code", CORPUS.values(), ids=CORPUS.keys())
def test_policy_output_keeps_the_invariant(policy, code):
    try:
        cell = policy.compile(code)
    except (PolicyViolation, SyntaxError):
        return  # refused: nothing ran
    assert violations(cell.body, cell.expr) == []


def _raw(src: str):
    return compile(src, "<raw>", "exec")


UNCHECKED = {
    "dunder read": ("f = None\nf.__globals__", "__globals__"),
    "frame read": ("g = None\ng.gi_frame", "gi_frame"),
    "raw format": ("'{}'.format", "format"),
    "raw slot setter": ("object.__setattr__", "__setattr__"),
    "dunder write": ("class A:\n    pass\nA.__class__ = int", "__class__"),
    "dunder delete": ("class A:\n    pass\ndel A.__init__", "__init__"),
    "import of a refused name": ("from x import __loader__", "__loader__"),
    "class pattern keyword": ("match 1:\n    case int(__class__=c, __reduce__=r):\n        pass", "__reduce__"),
    "unpinned positional class pattern": ("match 1:\n    case int(x):\n        pass", "match_classes"),
    "hook as parameter": ("def f(_sc_final_check, /):\n    pass", "_sc_final_check"),
    "hook as *args": ("def f(*_sc_format_attr):\n    pass", "_sc_format_attr"),
    "hook stored": ("_sc_final_check = None", "_sc_final_check"),
    "hook stored in a closure": ("def f():\n    _sc_x = 1\n    return lambda: _sc_x", "_sc_x"),
    "reserved stored": ("final_answer = print", "final_answer"),
    "reserved parameter": ("g = lambda final_answer: 0", "final_answer"),
    "reserved global": ("def f():\n    global final_answer\n    final_answer = 1", "final_answer"),
    "unknown hidden name loaded": ("_sc_sandbox", "_sc_sandbox"),
    "hook in a method default, looked up in the class namespace": (
        "class C:\n    def m(self, x=_sc_format_attr):\n        pass", "class namespace"),
    "hook looked up in a class namespace": ("class C:\n    try:\n        pass\n    except Exception:\n"
                                            "        _sc_final_check()", "class namespace"),
}


@pytest.mark.parametrize("src,needle", UNCHECKED.values(), ids=UNCHECKED.keys())
def test_the_checker_flags_code_compiled_without_the_policy(src, needle):
    found = violations(_raw(src))
    assert any(needle in v for v in found), found


CLASS_SCOPE_HOOKS = {
    "method defaults and decorators": ("class C:\n    def m(self, x=y.format, *, z=w.__dict__):\n"
                                       "        return x.format\n    @d.format\n    def n(self):\n        pass\n"
                                       "    f = lambda q=r.format: q.__setattr__"),
    "except handler in a class body": "class C:\n    try:\n        pass\n    except Exception:\n        pass",
    "keyword class pattern in a class body": "class C:\n    match v:\n        case str(upper=u):\n            pass",
}
if sys.version_info >= (3, 12):
    CLASS_SCOPE_HOOKS["annotation scopes of a generic class"] = (
        "class C[T]:\n    type A = y.format\n    def m[U](self, x: U.format = v.format) -> T.format:\n        pass")


@pytest.mark.parametrize("code", CLASS_SCOPE_HOOKS.values(), ids=CLASS_SCOPE_HOOKS.keys())
def test_no_hook_is_looked_up_in_a_class_namespace(policy, code):
    cell = policy.compile(code)
    assert violations(cell.body, cell.expr) == []


def test_the_checker_accepts_pinned_class_patterns(policy):
    cell = policy.compile("class P:\n    __match_args__ = ('x',)\n    x = 1\n"
                          "match P():\n    case P(v) | [P(v)]:\n        r = v")
    assert violations(cell.body) == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 syntax exists from Python 3.12")
def test_the_checker_walks_type_parameter_scopes():
    found = violations(_raw("def f[T: int](x: T) -> T:\n    return x.__globals__"))
    assert any("__globals__" in v for v in found), found


def _code_strings(root: Path):
    """Every string constant in the repository's tests and benchmarks that parses as a
    module of at least one statement: each suite's snippets, whatever their shape."""
    for path in sorted(root.rglob("*.py")):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
                try:
                    ast.parse(node.value)
                except (SyntaxError, ValueError):
                    continue
                yield f"{path.relative_to(root.parent)}:{node.lineno}", node.value


def test_every_code_string_in_tests_and_benchmarks_keeps_the_invariant(policy):
    repo = Path(__file__).resolve().parent.parent
    broken, compiled = {}, 0
    for root in (repo / "tests", repo / "bench"):
        for where, code in _code_strings(root):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SyntaxWarning)
                    cell = policy.compile(code)
            except (PolicyViolation, SyntaxError, ValueError, RecursionError):
                continue
            compiled += 1
            found = violations(cell.body, cell.expr)
            if found:
                broken[where] = found
    assert compiled > 1000 and not broken, (compiled, broken)
