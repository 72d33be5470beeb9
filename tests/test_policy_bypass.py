"""Red team against the real service, for the two bypass classes of issue 9, each in several
shapes: attribute reads the language performs implicitly (class patterns in `match`), and
names bound where the policy's hooks or refused names would be shadowed. Every attempt must
be refused by the policy itself (a policy error naming what was wrong, not a jail refusal),
the session must keep working, and the service and another session must be intact."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("service_intact")

# An object whose class claims every instance: the isinstance() of a class pattern passes for
# any subject, so the pattern's attribute reads reach a function's internals.
_ANY = ("class Meta(type):\n    def __instancecheck__(cls, obj):\n        return True\n")
_FUNC = "def victim():\n    pass\n"

PATTERN_READS = {
    "keyword dunder": (_FUNC + "match victim:\n    case object(__globals__=g):\n        leaked = g", "__globals__"),
    "keyword subclasses": ("match int:\n    case type(__subclasses__=s):\n        leaked = s()", "__subclasses__"),
    "keyword in nested pattern": (_FUNC + "match [victim]:\n    case [object(__builtins__=b)]:\n        leaked = b",
                                  "__builtins__"),
    "keyword generator frame": ("g = (i for i in [1])\nmatch g:\n    case object(gi_frame=f):\n        leaked = f",
                                "gi_frame"),
    "keyword code object": (_FUNC + "match victim:\n    case object(__code__=c):\n        leaked = c", "__code__"),
    "keyword unchecked format": ("match '{0.__class__.__base__}':\n    case str(format=f):\n        leaked = f(1)",
                                 "format"),
    "keyword slot setter": ("import math\nmatch math:\n    case object(__setattr__=s):\n        s('pi', 3)",
                            "__setattr__"),
    "match_args in class body": (_ANY + _FUNC + "class Any(metaclass=Meta):\n    __match_args__ = ('__globals__',)\n"
                                 "match victim:\n    case Any(g):\n        leaked = g['__builtins__']", "__globals__"),
    "match_args from type()": (_ANY + _FUNC + "Any = Meta('Any', (), {'__match_args__': ('__globals__',)})\n"
                               "match victim:\n    case Any(g):\n        leaked = g", "__globals__"),
    "match_args inherited": (_ANY + _FUNC + "class Base(metaclass=Meta):\n    __match_args__ = ('__code__',)\n"
                             "class Any(Base):\n    pass\nmatch victim:\n    case Any(c):\n        leaked = c", "__code__"),
    "match_args behind a dotted name": (_ANY + _FUNC + "class NS:\n    class Any(metaclass=Meta):\n"
                                       "        __match_args__ = ('__closure__',)\n"
                                       "match victim:\n    case NS.Any(c):\n        leaked = c", "__closure__"),
    "match_args in a nested pattern": (_ANY + _FUNC + "class Any(metaclass=Meta):\n    __match_args__ = ('__globals__',)\n"
                                       "match [victim]:\n    case [Any(g)]:\n        leaked = g", "__globals__"),
    "match_args in an or-pattern": (_ANY + _FUNC + "class Any(metaclass=Meta):\n    __match_args__ = ('__globals__',)\n"
                                    "match victim:\n    case str(g) | Any(g):\n        leaked = g", "__globals__"),
    "match_args as a metaclass property": (
        _FUNC + "class Meta(type):\n    def __instancecheck__(cls, obj):\n        return True\n"
        "    @property\n    def __match_args__(cls):\n        return ('__globals__',)\n"
        "class Any(metaclass=Meta):\n    pass\nmatch victim:\n    case Any(g):\n        leaked = g", "metaclass"),
    "match_args from a metaclass __getattr__": (
        _FUNC + "class Meta(type):\n    def __instancecheck__(cls, obj):\n        return True\n"
        "    def __getattr__(cls, name):\n        return ('__globals__',)\n"
        "class Any(metaclass=Meta):\n    pass\nmatch victim:\n    case Any(g):\n        leaked = g", "metaclass"),
    "match_args rewritten after the class exists": (
        _ANY + _FUNC + "class Any(metaclass=Meta):\n    __match_args__ = ('real',)\n"
        "type.__setattr__(Any, '__match_args__', ('__globals__',))\n"
        "match victim:\n    case Any(g):\n        leaked = g", "__match_args__"),
    "match_args rewritten by object.__setattr__ on the class": (
        _ANY + "class Any(metaclass=Meta):\n    pass\nobject.__setattr__(Any, '__match_args__', ('__globals__',))",
        "__match_args__"),
    "match_args of str subclasses": (
        _ANY + _FUNC + "class N(str):\n    pass\nclass Any(metaclass=Meta):\n"
        "    __match_args__ = (N('__globals__'),)\nmatch victim:\n    case Any(g):\n        leaked = g",
        "__match_args__"),
    "pinned classes shadowed through a kept __prepare__ namespace": (
        _ANY + _FUNC + "class Evil(metaclass=Meta):\n    __match_args__ = ('__globals__',)\n"
        "class Fake:\n    c0 = Evil\nstash = []\n"
        "class Prep(type):\n    @classmethod\n    def __prepare__(mcs, name, bases):\n"
        "        stash.append({})\n        return stash[-1]\n"
        "class Safe:\n    __match_args__ = ('real',)\n"
        "class Body(metaclass=Prep):\n    stash[0]['_sc_match_classes'] = lambda *a: Fake()\n"
        "    match victim:\n        case Safe(g):\n            leaked = g",
        "class body"),
    "__match_args__ behind a key that lies about its equality": (
        _ANY + _FUNC + "class Key:\n    n = 0\n    def __hash__(self):\n        return hash('__match_args__')\n"
        "    def __eq__(self, other):\n        Key.n += 1\n        return Key.n > 1\n"
        "Evil = Meta('Evil', (), {Key(): ('__globals__',)})\n"
        "match victim:\n    case Evil(g):\n        leaked = g", "not strings"),
}


def _refused(r, needle: str) -> None:
    assert r.status == "error", f"not refused: {r}"
    assert r.error.type in {"PolicyViolation", "AttributeError", "TypeError"}, r.error
    assert needle in r.error.message, f"error does not say what was wrong: {r.error}"
    assert not r.restored, "the worker died: the jail, not the policy, stopped this"


@pytest.mark.parametrize("code,needle", PATTERN_READS.values(), ids=PATTERN_READS.keys())
def test_class_patterns_read_attributes_under_the_same_checks(client, code, needle):
    with client.create_session() as s:
        _refused(s.execute(code), needle)
        r = s.execute("leaked")
        assert r.status == "error" and r.error.type == "NameError", r
        assert s.execute("40 + 2").value.python() == 42


# Names of the policy's own hooks, and names it refuses anywhere else.
HOOK_NAMES = ("_sc_final_check", "_sc_format_attr", "_sc_match_classes", "_sc_mc", "final_answer",
              "__builtins__", "__import__")
BINDING_SITES = {
    "positional-only parameter": "def f({n}, /):\n    pass",
    "parameter": "def f(a, {n}):\n    pass",
    "keyword-only parameter": "def f(*, {n}=1):\n    pass",
    "*args": "def f(*{n}):\n    pass",
    "**kwargs": "def f(**{n}):\n    pass",
    "async def parameter": "async def f({n}, /):\n    pass",
    "lambda positional-only": "f = lambda {n}, /: 0",
    "lambda *args": "f = lambda *{n}: 0",
    "lambda **kwargs": "f = lambda **{n}: 0",
    "comprehension target": "[0 for {n} in [1]]",
    "nested comprehension target": "{{0: 0 for x in [1] for {n} in [x]}}",
    "for target": "for {n} in [1]:\n    pass",
    "for tuple target": "for a, ({n}, b) in [(1, (2, 3))]:\n    pass",
    "with as": "import math\nclass C:\n    def __enter__(self):\n        return 1\n"
               "    def __exit__(self, *a):\n        pass\nwith C() as {n}:\n    pass",
    "except as": "try:\n    pass\nexcept Exception as {n}:\n    pass",
    "except* as": "try:\n    pass\nexcept* ValueError as {n}:\n    pass",
    "match capture": "match 1:\n    case {n}:\n        pass",
    "match as": "match 1:\n    case int() as {n}:\n        pass",
    "match star": "match [1]:\n    case [*{n}]:\n        pass",
    "match rest": "match {{}}:\n    case {{**{n}}}:\n        pass",
    "global": "def f():\n    global {n}",
    "nonlocal": "def f():\n    {n} = 1\n    def g():\n        nonlocal {n}",
    "import as": "import math as {n}",
    "from import as": "from math import pi as {n}",
    "walrus": "({n} := 1)",
    "walrus in comprehension": "[({n} := x) for x in [1]]",
    "class name": "class {n}:\n    pass",
    "function name": "def {n}():\n    pass",
    "assignment": "{n} = 1",
    "annotated assignment": "{n}: int = 1",
    "augmented assignment": "{n} += 1",
    "del": "del {n}",
}
TYPE_PARAM_SITES = {
    "type parameter": "def f[{n}](): pass",
    "class type parameter": "class C[{n}]: pass",
    "type var tuple": "def f[*{n}](): pass",
    "param spec": "type A[**{n}] = int",
    "type alias": "type {n} = int",
}


def _binding_cases():
    for site, template in BINDING_SITES.items():
        for name in HOOK_NAMES:
            yield pytest.param(template.format(n=name), name, id=f"{site}-{name}")


@pytest.mark.parametrize("code,name", list(_binding_cases()))
def test_every_binding_site_refuses_reserved_names(client, code, name):
    with client.create_session() as s:
        r = s.execute(code)
        assert r.status == "error" and r.error.type in {"PolicyViolation", "SyntaxError"}, r
        assert name in r.error.message or "_sc_" in r.error.message, r.error
        assert not r.restored


@pytest.mark.parametrize("site", TYPE_PARAM_SITES)
def test_type_parameters_refuse_reserved_names(client, site):
    with client.create_session() as s:
        for name in ("_sc_final_check", "final_answer", "__builtins__"):
            r = s.execute(TYPE_PARAM_SITES[site].format(n=name))
            # Before 3.12 this is no syntax at all; after, the policy names the problem.
            assert r.status == "error" and r.error.type in {"PolicyViolation", "SyntaxError"}, r
            if r.error.type == "PolicyViolation":
                assert name in r.error.message or "_sc_" in r.error.message, r.error


# The original report's shape: hooks shadowed inside a function by no-op versions, then the
# guarded operations run inside it. Each must be refused before anything runs.
SHADOWING = {
    "no-op write hook as positional-only": (
        "import math\ndef attack(_sc_slot_setter=lambda o, n: object.__setattr__, /):\n"
        "    object.__setattr__(math, '__class__', int)\nattack()"),
    "no-op final check as positional-only": (
        "def attack(_sc_final_check=lambda: None, /):\n    try:\n        final_answer(1)\n"
        "    except BaseException:\n        return 'swallowed'\nattack()"),
    "instance dict hook as *args": "def attack(*_sc_instance_dict):\n    return type.__dict__\nattack()",
    "format hook via global": ("def attack():\n    global _sc_format_attr\n    _sc_format_attr = getattr\n"
                               "attack()\n'{0.__class__.__base__}'.format(1)"),
    "hooks via class body names": "class C:\n    _sc_final_check = None\n    _sc_mc = None",
    "final_answer shadowed in a lambda": "f = lambda final_answer: final_answer\nf(1)",
}


@pytest.mark.parametrize("code", SHADOWING.values(), ids=SHADOWING.keys())
def test_hooks_cannot_be_shadowed(client, code):
    with client.create_session() as s:
        r = s.execute(code)
        assert r.status == "error" and r.error.type == "PolicyViolation", r
        assert not r.is_final_answer and not r.restored
        assert s.execute("40 + 2").value.python() == 42


def test_final_answer_ends_the_cell_inside_a_class_body_whose_namespace_is_kept(client):
    # __prepare__ keeps the class namespace and the body writes a no-op final check into it.
    code = ("stash = []\nclass Prep(type):\n    @classmethod\n    def __prepare__(mcs, name, bases):\n"
            "        stash.append({})\n        return stash[-1]\n"
            "class Body(metaclass=Prep):\n    stash[0]['_sc_final_check'] = lambda: None\n"
            "    try:\n        final_answer(7)\n    except BaseException:\n        swallowed = True\n"
            "'not reached'")
    with client.create_session() as s:
        r = s.execute(code)
        assert r.is_final_answer and r.value.python() == 7, r


def test_final_answer_still_ends_the_cell_after_attempts(client):
    with client.create_session() as s:
        s.execute(SHADOWING["no-op final check as positional-only"])
        r = s.execute("try:\n    final_answer(7)\nexcept BaseException:\n    pass")
        assert r.is_final_answer and r.value.python() == 7


# Stdlib functions that read attributes by a name the caller gives are the same kind of
# implicit read: functools (in the test ceiling) copies whatever names it is told to.
STDLIB_READS = {
    "update_wrapper assigned": ("import functools, statistics\nclass A:\n    pass\na = A()\n"
                                "functools.update_wrapper(a, statistics.mean, assigned=('__globals__',), updated=())\n"
                                "leaked = vars(a)['__globals__']['sys']", "__globals__"),
    "wraps assigned": ("import functools\ndef f():\n    pass\nclass A:\n    pass\n"
                       "leaked = vars(functools.wraps(f, assigned=('__closure__', '__code__'))(A()))", "__closure__"),
    "update_wrapper updated from a class": ("import functools\nclass A:\n    pass\n"
                                            "leaked = vars(functools.update_wrapper(A(), type))['__subclasses__']",
                                            "__dict__"),
    "attrgetter slot setter": ("import operator\nclass A:\n    pass\n"
                               "leaked = operator.attrgetter('__setattr__')(A())", "__setattr__"),
}


@pytest.mark.parametrize("code,needle", STDLIB_READS.values(), ids=STDLIB_READS.keys())
def test_stdlib_attribute_readers_get_the_same_checks(client, code, needle):
    with client.create_session(extra_imports=("functools", "operator")) as s:
        _refused(s.execute(code), needle)
        r = s.execute("leaked")
        assert r.status == "error" and r.error.type == "NameError", r
