"""The sandbox policy in-process (no server): escapes that must fail with an error naming what
was wrong, and the guarded operations that must keep working. The OS jail is tested in
test_isolation.py; this is the defence-in-depth layer on its own."""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types

import pytest

from executor.config import DEFAULT_ALLOWED_IMPORTS
from executor.policy import FinalAnswerSignal, ModuleNotAllowed, Policy, PolicyConfig, PolicyViolation
from executor.policy.modules import Allowlist

# What operators typically add on top of the default (the test server's ceiling, minus asyncio).
WIDER = ("dataclasses", "json", "functools", "operator", "string", "typing", "textwrap",
         "decimal", "fractions", "enum", "copy", "heapq", "bisect")
FAILURES = (ImportError, ModuleNotAllowed, ModuleNotFoundError, PolicyViolation, SyntaxError,
            NameError, AttributeError, PermissionError, TypeError, KeyError)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("work")
    (path / "inside.txt").write_text("inside\n")
    os.symlink("/etc/hostname", path / "planted_link")  # e.g. unpacked from an uploaded archive
    return path


@pytest.fixture(scope="module")
def policy(workdir):
    p = Policy(PolicyConfig(allowed_imports=DEFAULT_ALLOWED_IMPORTS, workdir=str(workdir)))
    p.preload()
    return p


@pytest.fixture(scope="module")
def wide(workdir):
    p = Policy(PolicyConfig(allowed_imports=DEFAULT_ALLOWED_IMPORTS + WIDER, workdir=str(workdir)))
    p.preload()
    return p


def _final_answer(value=None):
    raise FinalAnswerSignal(value)


def run(policy: Policy, src: str):
    """Like the worker: compile, exec the body, eval a trailing expression, in a fresh namespace."""
    ns = policy.new_namespace({"final_answer": _final_answer})
    cell = policy.compile(src, "<cell>")
    exec(cell.body, ns)
    return eval(cell.expr, ns) if cell.expr is not None else None


def assert_blocked(policy, src, needle):
    with pytest.raises(FAILURES) as info:
        run(policy, src)
    assert needle in str(info.value), f"error does not say what was wrong: {info.value!r}"
    return info.value


# (code, a word the error message must contain) with the default allowlist.
ESCAPES = {
    # -- classic jailbreaks through dunders --
    "subclasses walk": ("().__class__.__base__.__subclasses__()", "__base__"),
    "object.__subclasses__": ("object.__subclasses__()", "__subclasses__"),
    "type.__subclasses__": ("type.__subclasses__(object)", "__subclasses__"),
    "mro walk": ("[].__class__.__mro__[1]", "__mro__"),
    "bases": ("int.__bases__", "__bases__"),
    "function globals": ("def f():\n    pass\nf.__globals__", "__globals__"),
    "lambda globals": ("(lambda: 0).__globals__['__builtins__']", "__globals__"),
    "function code": ("def f():\n    pass\nf.__code__", "__code__"),
    "closure cells": ("def outer():\n    x = 1\n    def inner():\n        return x\n    return inner\n"
                      "outer().__closure__[0].cell_contents", "__closure__"),
    "cell_contents": ("c = None\nc.cell_contents", "cell_contents"),
    "builtins name": ("__builtins__", "__builtins__"),
    "builtins subscript": ("__builtins__['eval']", "__builtins__"),
    "print.__self__": ("print.__self__", "__self__"),
    "reduce_ex": ("(1).__reduce_ex__(2)", "__reduce_ex__"),
    "reduce": ("[].__reduce__()", "__reduce__"),
    "getattribute": ("object.__getattribute__(1, '__class__')", "__getattribute__"),
    "type.__dict__": ("type.__dict__", "__dict__"),
    "class __dict__": ("class A:\n    pass\nA.__dict__", "__dict__"),
    "module __dict__": ("import math\nmath.__dict__", "__dict__"),
    "type __dict__ via getattr": ("getattr(type, '__di' + 'ct__')['__subclasses__']", "__dict__"),
    "vars(module)": ("import statistics\nvars(statistics)", "vars()"),
    "__dict__ assignment": ("class A:\n    pass\nA().__dict__ = {}", "__dict__"),
    "class assignment": ("class A:\n    pass\na = A()\na.__class__ = int", "__class__"),
    "defaults": ("def f(x=1):\n    pass\nf.__defaults__", "__defaults__"),
    "wrapped": ("def f():\n    pass\nf.__wrapped__", "__wrapped__"),
    "module loader": ("import math\nmath.__loader__", "__loader__"),
    "module spec": ("import math\nmath.__spec__", "__spec__"),
    "build_class": ("__build_class__", "__build_class__"),
    "import dunder": ("__import__('os')", "__import__"),
    "guard name": ("_sc_format_attr", "reserved"),
    "guard name as attribute target": ("_sc_final_check = 1", "reserved"),
    # -- code from strings, scopes, interactive helpers --
    "vars()": ("vars()", "vars"),
    "vars(obj)": ("vars(int)", "vars"),
    "builtins through globals()": ("globals()['__builtins__']", "__builtins__"),
    "hook through locals()": ("def f():\n    return locals()['_sc_final_check']\nf()", "_sc_final_check"),
    "eval": ("eval('1')", "eval"),
    "exec": ("exec('x = 1')", "exec"),
    "compile": ("compile('1', 's', 'eval')", "compile"),
    "eval as value": ("f = eval", "eval"),
    "breakpoint": ("breakpoint()", "breakpoint"),
    "input": ("input()", "input"),
    "help": ("help(int)", "help"),
    "exit": ("exit()", "exit"),
    # -- imports --
    "import os": ("import os", "'os'"),
    "import sys": ("import sys", "'sys'"),
    "import subprocess": ("import subprocess", "'subprocess'"),
    "import importlib": ("import importlib", "'importlib'"),
    "import builtins": ("import builtins", "'builtins'"),
    "import ctypes": ("import ctypes", "'ctypes'"),
    "import posix": ("import posix", "'posix'"),
    "import gc": ("import gc", "'gc'"),
    "import inspect": ("import inspect", "'inspect'"),
    "import traceback": ("import traceback", "'traceback'"),
    "import _io": ("import _io", "'_io'"),
    "from os import system": ("from os import system", "'os'"),
    "alias module not part of its parent": ("import os", "'os'"),
    "from-import module attribute": ("from statistics import sys", "'statistics.sys'"),
    "dotted import of a dunder": ("import collections.__loader__ as l", "__loader__"),
    "from-import dunder (found by fuzzing)": ("from math import __builtins__ as b", "__builtins__"),
    "from-import private module": ("from random import _os", "'random._os'"),
    "from-import re internals": ("from re import _compiler", "'re._compiler'"),
    "module via attribute": ("import statistics\nstatistics.sys", "sys"),
    "private module via attribute": ("import random\nrandom._os", "_os"),
    "module via getattr": ("import statistics\ngetattr(statistics, 'sy' + 's')", "sys"),
    "relative import": ("from . import x", "relative imports"),
    "relative import up": ("from ..pkg import x", "relative imports"),
    # -- frames, code and tracebacks --
    "generator frame": ("g = (i for i in [1])\ng.gi_frame.f_back.f_globals", "gi_frame"),
    "generator code": ("g = (i for i in [1])\ng.gi_code", "gi_code"),
    "generator frame via getattr": ("g = (i for i in [1])\ngetattr(g, 'gi_' + 'frame')", "gi_frame"),
    "coroutine frame": ("async def c():\n    pass\nc().cr_frame", "cr_frame"),
    "coroutine await": ("async def c():\n    pass\nc().cr_await", "cr_await"),
    "async generator frame": ("async def a():\n    yield 1\na().ag_frame", "ag_frame"),
    "traceback attribute": ("try:\n    1/0\nexcept Exception as e:\n    e.__traceback__", "__traceback__"),
    "traceback frame": ("try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_globals",
                        "__traceback__"),
    "traceback via getattr": ("try:\n    1/0\nexcept Exception as e:\n    getattr(e, '__trace' + 'back__')",
                              "__traceback__"),
    "tb_frame without __traceback__": ("def walk(tb):\n    return tb.tb_frame", "tb_frame"),
    "tb_next": ("t = None\nt.tb_next", "tb_next"),
    "frame globals": ("fr = None\nfr.f_globals", "f_globals"),
    "frame back": ("fr = None\nfr.f_back", "f_back"),
    "frame builtins via getattr": ("getattr(None, 'f_builtins')", "f_builtins"),
    "code constants": ("def f():\n    pass\ngetattr(f, 'co_consts')", "co_consts"),
    # -- attribute functions with computed names --
    "getattr computed": ("getattr(object, '__sub' + 'classes__')", "__subclasses__"),
    "getattr with default": ("getattr(object, '__subclasses__', None)", "__subclasses__"),
    "getattr globals": ("def f():\n    pass\ngetattr(f, '__glo' + 'bals__')", "__globals__"),
    "setattr code": ("def f():\n    pass\nsetattr(f, '__code__', None)", "__code__"),
    "setattr class": ("class A:\n    pass\nsetattr(A(), '__class__', int)", "__class__"),
    "delattr dunder": ("class A:\n    pass\ndelattr(A, '__init__')", "__init__"),
    "getattr non-str name": ("getattr(1, 5)", "must be a string"),
    "str subclass lying to getattr": (
        "class N(str):\n    def startswith(self, *a):\n        return False\n"
        "    def endswith(self, *a):\n        return False\n"
        "getattr(object, N('__subclasses__'))", "__subclasses__"),
    "str subclass lying to setattr": (
        "class N(str):\n    def startswith(self, *a):\n        return False\n"
        "    def endswith(self, *a):\n        return False\n"
        "class A:\n    pass\nsetattr(A, N('__init__'), lambda self: None)", "__init__"),
    # -- str.format field walks --
    "format": ("'{0.__class__}'.format(1)", "__class__"),
    "format deep": ("'{0.__class__.__base__.__subclasses__}'.format(1)", "__class__"),
    "format_map": ("'{a.__init__.__globals__}'.format_map({'a': 1})", "__init__"),
    "format keyword": ("'{x.__class__}'.format(x=1)", "__class__"),
    "str.format unbound": ("str.format('{0.__class__}', 1)", "__class__"),
    "str.format_map unbound": ("str.format_map('{0.__class__}', [1])", "__class__"),
    "nested spec field": ("'{0:{1.__class__}}'.format(1, 2)", "__class__"),
    "bound format": ("fmt = '{0.__class__}'.format\nfmt(1)", "__class__"),
    "format via map": ("list(map('{0.__class__}'.format, [1]))", "__class__"),
    "format via str in map": ("list(map(str.format, ['{0.__class__}'], [1]))", "__class__"),
    "super().format": ("class S(str):\n    def go(self):\n        return super().format(1)\n"
                       "S('{0.__class__}').go()", "__class__"),
    "getattr format": ("getattr('{0.__class__}', 'format')(1)", "__class__"),
    "getattr str format": ("getattr(str, 'format')('{0.__class__}', 1)", "__class__"),
    "type('').format": ("type('').format('{0.__class__}', 1)", "__class__"),
    "__class__.format": ("''.__class__.format('{0.__class__}', 1)", "__class__"),
    "private attribute in field": ("class A:\n    _x = 1\n'{0._x}'.format(A())", "_x"),
    "UserString.format": ("import collections\ncollections.UserString('{0.__class__}').format(1)",
                          "__class__"),
    "UserString.format unbound": ("import collections\nU = collections.UserString\n"
                                  "U.format(U('{0.__class__}'), 1)", "__class__"),
    "UserString super().format": ("import collections\nclass U(collections.UserString):\n"
                                  "    def format(self, *a):\n        return super().format(*a)\n"
                                  "U('{0.__class__}').format(1)", "__class__"),
    "forged template hash": (
        "'{}'.format(1)\nclass S(str):\n    def __hash__(self):\n        return hash('{}')\n"
        "    def __eq__(self, other):\n        return True\nS('{0.__class__}').format(1)", "__class__"),
    # -- open() outside the work dir --
    "open absolute": ("open('/etc/passwd').read()", "outside"),
    "open parent": ("open('../escape.txt', 'w')", "outside"),
    "open dotdot inside path": ("open('a/../../escape.txt', 'w')", "outside"),
    "open many dotdots": ("open('./' + '../' * 12 + 'etc/passwd')", "outside"),
    "open double slash": ("open('//etc/passwd')", "outside"),
    "open bytes path": ("open(b'/etc/passwd')", "outside"),
    "open proc": ("open('/proc/self/environ')", "outside"),
    "open PathLike": ("class P:\n    def __fspath__(self):\n        return '/etc/passwd'\nopen(P())",
                      "outside"),
    "open str subclass": ("class P(str):\n    def startswith(self, *a):\n        return True\n"
                          "open(P('/etc/passwd'))", "outside"),
    "open planted symlink": ("open('planted_link').read()", "outside"),
    "open fd": ("open(0)", "file descriptor"),
    "open opener": ("open('x.txt', 'w', opener=lambda path, flags: 0)", "opener"),
    "open closefd": ("open('x.txt', 'w', closefd=False)", "closefd"),
    # -- the reserved final_answer, in every binding form --
    "rebind assign": ("final_answer = print", "final_answer"),
    "rebind augassign": ("final_answer += 1", "final_answer"),
    "rebind annotated": ("final_answer: int = 1", "final_answer"),
    "rebind walrus": ("(final_answer := 1)", "final_answer"),
    "rebind tuple target": ("a, final_answer = 1, 2", "final_answer"),
    "rebind for": ("for final_answer in [1]:\n    pass", "final_answer"),
    "rebind comprehension": ("[1 for final_answer in [1]]", "final_answer"),
    "rebind def": ("def final_answer(x):\n    return x", "final_answer"),
    "rebind async def": ("async def final_answer(x):\n    return x", "final_answer"),
    "rebind class": ("class final_answer:\n    pass", "final_answer"),
    "rebind import as": ("import math as final_answer", "final_answer"),
    "rebind from import as": ("from math import pi as final_answer", "final_answer"),
    "rebind except as": ("try:\n    pass\nexcept Exception as final_answer:\n    pass", "final_answer"),
    "rebind with as": ("with open('x.txt', 'w') as final_answer:\n    pass", "final_answer"),
    "rebind match capture": ("match 1:\n    case final_answer:\n        pass", "final_answer"),
    "rebind match as": ("match 1:\n    case int() as final_answer:\n        pass", "final_answer"),
    "rebind match star": ("match [1]:\n    case [*final_answer]:\n        pass", "final_answer"),
    "rebind match rest": ("match {}:\n    case {**final_answer}:\n        pass", "final_answer"),
    "rebind global": ("def f():\n    global final_answer\n    final_answer = 1\nf()", "final_answer"),
    "rebind del": ("del final_answer", "final_answer"),
    # The strptime helper module is served as its two entry points, not as the real module.
    "_strptime leads nowhere": ("import _strptime\n_strptime.locale", "locale"),
    "_strptime private names": ("import _strptime\n_strptime._thread_allocate_lock", "_thread_allocate_lock"),
}


@pytest.mark.parametrize("code,needle", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_fails_with_clear_error(policy, code, needle):
    assert_blocked(policy, code, needle)


# Escapes through modules an operator may add (typing, dataclasses, string, operator, functools).
WIDE_ESCAPES = {
    "string annotation evaluated by typing": (
        "import typing\ndef f(x: '().__class__.__base__'):\n    pass\ntyping.get_type_hints(f)", "__base__"),
    "mutated annotation": ("import typing\ndef f(x):\n    pass\n"
                           "f.__annotations__['x'] = '().__class__.__base__.__subclasses__'\n"
                           "typing.get_type_hints(f)", "__base__"),
    "class annotation from real __main__": ("import typing\nclass C:\n    x: 'open'\n"
                                            "typing.get_type_hints(C)['x']('/etc/passwd')", "outside"),
    "class __module__ pointing at os": (
        "import typing\nC = type('C', (), {'__module__': 'os', '__annotations__': {'x': 'system'}})\n"
        "typing.get_type_hints(C)", "system"),
    "ForwardRef module=": ("import typing\ndef f(x: typing.List[typing.ForwardRef('system', module='os')]):\n"
                           "    pass\ntyping.get_type_hints(f)", "system"),
    "stdlib function globals": ("import typing, statistics\nstatistics.mean.__annotations__['x'] = 'sys'\n"
                                "typing.get_type_hints(statistics.mean)", "sys"),
    "singledispatch annotation": ("import functools\n@functools.singledispatch\ndef g(x):\n    return 1\n"
                                  "def h(x: 'print(().__class__.__base__) or int'):\n    return 2\n"
                                  "g.register(h)", "__base__"),
    "ForwardRef _evaluate": ("import typing\ntyping.ForwardRef('int')._evaluate({}, {}, frozenset())",
                             "_evaluate"),
    "dataclass field name injection": (
        "import dataclasses\n@dataclasses.dataclass\nclass A:\n"
        "    x: int = dataclasses.field(default=0, init=False)\n"
        "dataclasses.fields(A)[0].name = \"x, *, y=[print(open)][0], z\"\n"
        "@dataclasses.dataclass\nclass B(A):\n    pass", "not a valid identifier"),
    "dataclass annotation injection": (
        "import dataclasses\nC = type('C', (), {'__annotations__': {'x=print(open)': int}})\n"
        "dataclasses.dataclass(C)", "not a valid identifier"),
    "dataclass dunder field becomes __match_args__": (
        "import dataclasses\nC = dataclasses.make_dataclass('C', ['__globals__'])", "__globals__"),
    "string.Formatter walk": ("import string\nstring.Formatter().format('{0.__class__}', 1)", "__class__"),
    "attrgetter dunder": ("import operator\noperator.attrgetter('__class__.__base__')(1)", "__base__"),
    "attrgetter second name": ("import operator\noperator.attrgetter('real', '__mro__')", "__mro__"),
    "attrgetter format": ("import operator\noperator.attrgetter('format')('{0.__class__}')(1)", "format"),
    "methodcaller dunder": ("import operator\noperator.methodcaller('__subclasses__')(object)",
                            "__subclasses__"),
    "methodcaller slot setter": ("import operator\nclass A:\n    pass\n"
                                 "operator.methodcaller('__setattr__', '__class__', int)(A())", "__setattr__"),
    "attrgetter slot setter": ("import operator\nclass A:\n    pass\n"
                               "operator.attrgetter('__setattr__')(A())('__class__', int)", "__setattr__"),
    "methodcaller format": ("import operator\noperator.methodcaller('format', 1)('{0.__class__}')",
                            "format"),
    "update_wrapper reads __globals__": (
        "import functools, statistics\nclass A:\n    pass\na = A()\n"
        "functools.update_wrapper(a, statistics.mean, assigned=('__globals__',), updated=())\n"
        "vars(a)['__globals__']['sys']", "__globals__"),
    "wraps reads __code__": ("import functools\ndef f():\n    pass\nclass A:\n    pass\n"
                             "w = functools.wraps(f, assigned=('__code__',))(A())", "__code__"),
    "update_wrapper copies a class dict": ("import functools\nclass A:\n    pass\n"
                                          "functools.update_wrapper(A(), type)", "__dict__"),
    "functools module via attribute": ("import functools\nfunctools.get_cache_token.__globals__", "__globals__"),
    "json command-line submodule": ("from json import tool", "'json.tool'"),
    "json command-line submodule dotted": ("import json.tool", "command-line"),
    "dataclasses private module": ("import dataclasses\ndataclasses._sys", "_sys"),
}


@pytest.mark.parametrize("code,needle", WIDE_ESCAPES.values(), ids=WIDE_ESCAPES.keys())
def test_escape_through_widened_modules_fails(wide, code, needle):
    assert_blocked(wide, code, needle)


@pytest.mark.parametrize("depth", range(3))
def test_no_class_in_formatter_mro_walks_attributes(wide, depth):
    # A hardened subclass alone would not do: Formatter.mro() hands out the stock base class.
    code = ("import string\nbases = [c for c in string.Formatter.mro() if hasattr(c, 'get_field')]\n"
            f"base = bases[{depth}] if {depth} < len(bases) else bases[-1]\n"
            "base.get_field(base(), '0.__class__', (1,), {})")
    assert_blocked(wide, code, "__class__")


def test_attrgetter_result_type_is_no_way_back_to_the_unchecked_getter(wide):
    # type() of the hardened getter must not be operator.attrgetter itself.
    with pytest.raises(TypeError):
        run(wide, "import operator\ntype(operator.attrgetter('real'))('__class__')(1)")


def _module_attrs(mod_name):
    real = importlib.import_module(mod_name)
    return [(mod_name, attr) for attr, value in vars(real).items() if isinstance(value, types.ModuleType)]


def _allowed_submodule(mod: str, attr: str) -> bool:
    """A real submodule (not a module the package imported, like re.enum) that is allowed."""
    return Allowlist(DEFAULT_ALLOWED_IMPORTS)(f"{mod}.{attr}") and \
        sys.modules.get(f"{mod}.{attr}") is getattr(importlib.import_module(mod), attr)


_MODULE_ATTRS = [pair for m in DEFAULT_ALLOWED_IMPORTS for pair in _module_attrs(m)]


@pytest.mark.parametrize("mod,attr", [(m, a) for m, a in _MODULE_ATTRS if not _allowed_submodule(m, a)],
                         ids=lambda v: v)
def test_no_module_reachable_through_allowed_module(policy, mod, attr):
    copy = policy.import_module(mod)
    assert attr not in vars(copy)
    with pytest.raises((AttributeError, PolicyViolation)) as info:
        run(policy, f"import {mod}\ngetattr({mod}, {attr!r})")
    assert attr in str(info.value) or "not allowed" in str(info.value)
    with pytest.raises(ImportError):
        run(policy, f"from {mod} import {attr}")


@pytest.mark.parametrize("mod,attr", [(m, a) for m, a in _MODULE_ATTRS if _allowed_submodule(m, a)],
                         ids=lambda v: v)
def test_allowed_submodules_are_reached_as_filtered_copies(policy, mod, attr):
    # collections.abc comes with collections: as the policy's copy, never the real module.
    assert run(policy, f"import {mod}\n{mod}.{attr}") is policy.import_module(f"{mod}.{attr}")
    assert run(policy, f"from {mod} import {attr}\n{attr}") is policy.import_module(f"{mod}.{attr}")


def test_submodule_rules():
    allowed = Allowlist(("collections", "json", "os", "logging", "xml"))
    assert allowed("collections.abc") and allowed("json.decoder") and allowed("xml.etree.ElementTree")
    assert not allowed("os.path")                                   # os is a module, not a package
    assert not allowed("json.tool") and not allowed("logging.config") and not allowed("logging.handlers")
    assert not allowed("xml.etree.ElementInclude") and not allowed("json._private")
    assert Allowlist(("logging.config",))("logging.config")         # named on purpose: allowed
    assert allowed("__future__")


@pytest.mark.parametrize("mod", DEFAULT_ALLOWED_IMPORTS + WIDER)
def test_module_copies_hold_no_modules_and_no_private_names(wide, mod):
    copy = wide.import_module(mod)
    leaked = [k for k, v in vars(copy).items()
              if isinstance(v, types.ModuleType) or (k.startswith("_") and not k.startswith("__"))]
    assert leaked == [], f"{mod} copy exposes {leaked}"


def test_every_default_module_has_modules_to_hide():
    # The reachability test above must actually exercise something.
    assert sum(len(_module_attrs(m)) for m in DEFAULT_ALLOWED_IMPORTS) >= 10


# -- final_answer() ends the cell, whatever the code around it catches --
SWALLOWERS = {
    "bare except": "try:\n    final_answer(7)\nexcept:\n    pass",
    "except BaseException": "try:\n    final_answer(7)\nexcept BaseException:\n    pass",
    "except BaseException as e": "try:\n    final_answer(7)\nexcept BaseException as e:\n    err = e",
    "except tuple": "try:\n    final_answer(7)\nexcept (ValueError, BaseException):\n    pass",
    "handler raising something else": "try:\n    final_answer(7)\nexcept BaseException:\n    raise ValueError('x')",
    "except star": "try:\n    final_answer(7)\nexcept* BaseException:\n    pass",
    "nested try": "try:\n    try:\n        final_answer(7)\n    finally:\n        x = 1\n"
                  "except BaseException:\n    pass",
    "inner handler then outer": "try:\n    try:\n        final_answer(7)\n    except BaseException:\n"
                                "        pass\nexcept BaseException:\n    pass\nx = 'not reached'",
    "in a loop with continue": "for i in range(3):\n    try:\n        final_answer(7)\n"
                               "    except BaseException:\n        continue",
    "in a function": "def f():\n    try:\n        final_answer(7)\n    except BaseException:\n"
                     "        return 0\nf()",
    "in a generator": "def g():\n    try:\n        yield final_answer(7)\n    except BaseException:\n"
                      "        yield 0\nlist(g())",
    "exception group": "try:\n    raise BaseExceptionGroup('g', [KeyboardInterrupt()])\n"
                       "except BaseException:\n    final_answer(7)",
    "in except of another error": "try:\n    1/0\nexcept ZeroDivisionError:\n    try:\n"
                                  "        final_answer(7)\n    except:\n        pass",
}


@pytest.mark.parametrize("code", SWALLOWERS.values(), ids=SWALLOWERS.keys())
def test_final_answer_cannot_be_swallowed(policy, code):
    with pytest.raises(FinalAnswerSignal) as info:
        run(policy, code)
    assert info.value.value == 7


def test_final_answer_passes_through_except_exception(policy):
    with pytest.raises(FinalAnswerSignal) as info:
        run(policy, "try:\n    final_answer({'a': 1})\nexcept Exception:\n    pass")
    assert info.value.value == {"a": 1}


def test_ordinary_exceptions_are_still_caught(policy):
    assert run(policy, "try:\n    1/0\nexcept BaseException as e:\n    r = type(e).__name__\nr") == \
        "ZeroDivisionError"
    assert run(policy, "try:\n    raise ExceptionGroup('g', [ValueError(1)])\n"
                       "except* ValueError as eg:\n    r = len(eg.exceptions)\nr") == 1


@pytest.mark.parametrize("params", ["final_answer", "final_answer, /", "*, final_answer", "*final_answer",
                                    "**final_answer", "x=1, /, *final_answer"])
def test_final_answer_is_refused_as_a_parameter(policy, params):
    # Like every other binding: a parameter of that name would shadow it inside the body.
    assert_blocked(policy, f"def f({params}):\n    return 1", "final_answer")
    assert_blocked(policy, f"g = lambda {params}: 1", "final_answer")


# -- errors carry the position and every problem --
def test_violation_reports_line_and_all_problems(policy):
    with pytest.raises(PolicyViolation) as info:
        run(policy, "x = 1\ny = x.__class__.__base__\neval('2')\n")
    err = info.value
    assert err.lineno == 2
    assert "__base__" in str(err) and "eval" in str(err) and "line 3" in str(err)


def test_syntax_errors_stay_syntax_errors(policy):
    with pytest.raises(SyntaxError):
        run(policy, "def f(:\n    pass")


def test_file_access_can_be_turned_off(tmp_path):
    p = Policy(PolicyConfig(allowed_imports=(), file_access=False, workdir=str(tmp_path)))
    with pytest.raises(PermissionError, match="turned off"):
        run(p, "open('a.txt', 'w')")


def test_the_work_dir_is_measured_once_code_may_have_written_to_it(tmp_path):
    # The worker walks the work dir after an execute only when it may have grown: after a
    # writable open() (sticky: a kept handle writes in later cells), or always when a module
    # that writes files by other means is allowed.
    p = Policy(PolicyConfig(allowed_imports=DEFAULT_ALLOWED_IMPORTS, workdir=str(tmp_path)))
    (tmp_path / "in.txt").write_text("x")
    run(p, "open('in.txt').read()\nopen('in.txt', 'rb').close()")
    assert not p.may_have_written_files()
    run(p, "f = open('out.txt', mode='a')")
    assert p.may_have_written_files()
    for mode in ("w", "r+", "x", "wb", object()):
        q = Policy(PolicyConfig(allowed_imports=(), workdir=str(tmp_path)))
        ns = q.new_namespace({})
        with contextlib.suppress(Exception):
            ns["__builtins__"]["open"](f"new-{id(mode)}", mode)
        assert q.may_have_written_files(), mode
    assert Policy(PolicyConfig(allowed_imports=("math", "os"), workdir=str(tmp_path))).may_have_written_files()
    assert not Policy(PolicyConfig(allowed_imports=("math",), file_access=False)).may_have_written_files()


def test_import_outside_allowlist_names_the_allowlist(policy):
    err = assert_blocked(policy, "import json", "'json'")
    assert isinstance(err, ModuleNotAllowed)
    assert "collections" in str(err)  # the model is told what it may use


# -- what keeps working --
POSITIVE = {
    "format positional and repr": ("'{} {x!r}'.format(1, x='a')", "1 'a'"),
    "format index and spec": ("'{0[a]} {0[b]:>3}'.format({'a': 1, 'b': 2})", "1   2"),
    "format public attribute": ("'{0.real}|{0.imag}'.format(3+4j)", "3.0|4.0"),
    "format date spec": ("import datetime\n'{:%Y-%m}'.format(datetime.date(2020, 5, 1))", "2020-05"),
    "format_map": ("'{a}-{b}'.format_map({'a': 1, 'b': 2})", "1-2"),
    "bound format in map": ("fmt = '{}!'.format\n','.join(map(fmt, [1, 2]))", "1!,2!"),
    "str.format unbound": ("str.format('{}+{}', 1, 2)", "1+2"),
    "str subclass keeps its own format": (
        "class S(str):\n    def format(self, *a):\n        return 'own ' + super().format(*a)\n"
        "S('{}').format(5)", "own 5"),
    "UserString format": ("import collections\ncollections.UserString('<{}>').format(1)", "<1>"),
    "percent formatting": ("'%(a)s-%(b)03d' % {'a': 'x', 'b': 7}", "x-007"),
    "f-string conversions": ("x = 'a'\nn = 3\nf'{x!r} {n=} {n:>4}'", "'a' n=3    3"),
    "getattr plain": ("class A:\n    x = 1\ngetattr(A(), 'x')", 1),
    "getattr private": ("class A:\n    _x = 2\ngetattr(A(), '_x')", 2),
    "getattr default": ("getattr(object(), 'missing', 5)", 5),
    "getattr allowed dunder": ("getattr(1, '__add__')(2)", 3),
    "setattr and delattr": ("class A:\n    pass\na = A()\nsetattr(a, 'y', 2)\nv = a.y\ndelattr(a, 'y')\n"
                            "(v, hasattr(a, 'y'))", (2, False)),
    "hasattr of a blocked name is False": ("hasattr(object, '__subclasses__')", False),
    "hasattr of an allowed dunder": ("hasattr(1, '__add__')", True),
    "instance __dict__ and vars": (
        "class R:\n    def __init__(self, **kw):\n        self.__dict__.update(kw)\n"
        "r = R(a=1)\nr.__dict__['b'] = 2\n(vars(r), getattr(r, '__dict__') is vars(r))", ({"a": 1, "b": 2}, True)),
    "dunder names in a class body": ("class V:\n    def __mul__(self, k):\n        return k * 2\n"
                                     "    __rmul__ = __mul__\n3 * V()", 6),
    "init_subclass via super": ("class P:\n    seen = []\n    def __init_subclass__(cls, **kw):\n"
                                "        super().__init_subclass__(**kw)\n        P.seen.append(cls.__name__)\n"
                                "class C(P):\n    pass\nP.seen", ["C"]),
    "wraps-style renaming": ("def f():\n    pass\nf.__name__ = 'g'\nf.__doc__ = 'd'\nf.__qualname__", "f"),
    "main idiom": ("r = 0\nif __name__ == '__main__':\n    r = 1\nr", 1),
    "private attributes and properties": (
        "class A:\n    def __init__(self):\n        self._n = 0\n    @property\n    def n(self):\n"
        "        return self._n\na = A()\na._n += 2\n(a.n, type(a).__name__)", (2, "A")),
    "dunder methods defined": (
        "class V:\n    __slots__ = ('x',)\n    def __init__(self, x):\n        self.x = x\n"
        "    def __eq__(self, o):\n        return self.x == o.x\n    __hash__ = None\n"
        "    def __repr__(self):\n        return f'V({self.x})'\n(V(1) == V(1), repr(V(2)))", (True, "V(2)")),
    "exception attributes": ("try:\n    raise ValueError('m') from KeyError('k')\nexcept ValueError as e:\n"
                             "    r = (e.args, type(e.__cause__).__name__)\nr", (("m",), "KeyError")),
    "import and from-import": ("import math, collections\nfrom itertools import chain\n"
                               "(math.floor(2.5), collections.Counter('aab')['a'], list(chain([1], [2])))",
                               (2, 2, [1, 2])),
    "star import": ("from math import *\nfloor(pi)", 3),
    # On 3.12+ these import _strptime through the caller's __import__ on every call.
    "datetime.strptime": ("import datetime\ndatetime.datetime.strptime('2024-02-29', '%Y-%m-%d').day", 29),
    "time.strptime": ("import time\ntime.strptime('2024', '%Y').tm_year", 2024),
    "open inside work dir": ("with open('out.txt', 'w') as f:\n    f.write('hi')\nopen('out.txt').read()", "hi"),
    "open pre-existing file": ("open('inside.txt').read()", "inside\n"),
    "open absolute path inside": (None, "inside\n"),  # filled in by the test (needs the path)
}


@pytest.mark.parametrize("code,expected", POSITIVE.values(), ids=POSITIVE.keys())
def test_ordinary_code_works(policy, workdir, code, expected):
    if code is None:
        code = f"open({str(workdir / 'inside.txt')!r}).read()"
    assert run(policy, code) == expected


WIDE_POSITIVE = {
    "typing forward references": (
        "import typing\nfrom typing import Optional, List\nclass Node:\n"
        "    def __init__(self, v, nxt: 'Optional[Node]' = None):\n        self.v = v\n"
        "def f(a: 'List[Node]', b: 'int | None') -> 'Node':\n    pass\n"
        "h = typing.get_type_hints(f)\n(h['return'] is Node, h['b'] == (int | None))", (True, True)),
    "typing hints on a class": ("import typing\nclass P:\n    x: int\n    y: 'list[int]'\n"
                                "typing.get_type_hints(P)['y']", list[int]),
    "singledispatch by annotation": (
        "import functools\n@functools.singledispatch\ndef g(x):\n    return 'any'\n"
        "@g.register\ndef _(x: int):\n    return 'int'\n(g(1), g('s'))", ("int", "any")),
    "dataclasses": ("import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass P:\n    x: int\n"
                    "    y: list = dataclasses.field(default_factory=list)\n"
                    "@dataclasses.dataclass(frozen=True)\nclass Q(P):\n    z: int = 0\n"
                    "q = Q(1, [2], 3)\n(dataclasses.asdict(q), repr(P(1)))",
                    ({"x": 1, "y": [2], "z": 3}, "P(x=1, y=[])")),
    "make_dataclass": ("import dataclasses\nC = dataclasses.make_dataclass('C', ['a', ('b', int, 0)])\n"
                       "repr(C(1))", "C(a=1, b=0)"),
    "string.Formatter": ("import string\nstring.Formatter().format('{0.real}-{x}', 3, x=2)", "3-2"),
    "string.Template": ("import string\nstring.Template('$a!').substitute(a=1)", "1!"),
    "attrgetter and methodcaller": (
        "import operator\nclass A:\n    def __init__(self):\n        self.b = self\n        self.c = 2\n"
        "(operator.attrgetter('b.c', 'c')(A()), operator.methodcaller('upper')('x'),\n"
        " sorted([3j, 1j], key=operator.attrgetter('imag')))", ((2, 2), "X", [1j, 3j])),
    "functools": ("import functools\n@functools.lru_cache(maxsize=None)\ndef fib(n):\n"
                  "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                  "def deco(f):\n    @functools.wraps(f)\n    def w(*a):\n        return f(*a)\n    return w\n"
                  "@deco\ndef named():\n    return 1\n(fib(30), named.__name__)", (832040, "named")),
    "json": ("import json\njson.loads(json.dumps({'a': [1, 2]}))", {"a": [1, 2]}),
    "enum": ("import enum\nclass C(enum.Enum):\n    RED = 1\n(C.RED.name, C(1).value)", ("RED", 1)),
}


@pytest.mark.parametrize("code,expected", WIDE_POSITIVE.values(), ids=WIDE_POSITIVE.keys())
def test_widened_modules_work(wide, code, expected):
    assert run(wide, code) == expected


def test_host_code_keeps_stock_stdlib_behaviour(wide):
    # The stdlib patches act only with sandboxed frames on the stack: host code in the same
    # process (here: the test itself) still resolves forward refs against real modules.
    import string
    import typing

    def f(x: "os.PathLike"):
        pass
    f.__globals__["os"] = os
    assert typing.get_type_hints(f)["x"] is os.PathLike
    assert string.Formatter().format("{0.__class__.__name__}", 1) == "int"


def test_loops_compile_without_per_operation_guards(policy):
    # The speed target (>= 0.9x plain exec) rests on this: attribute reads, subscripts,
    # calls and in-place operations in a loop compile to plain bytecode, no guard calls.
    cell = policy.compile("class A:\n    n = 0\na = A()\nd = {}\nfor i in range(10):\n"
                          "    a.n += i\n    d[i] = a.n\n    x = [j * 2 for j in range(i)]\n", "<loop>")

    def names(code):
        out = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                out |= names(const)
        return out
    assert not [n for n in names(cell.body) if n.startswith("_sc_")]


def test_the_strptime_helper_is_only_there_for_the_modules_that_need_it(workdir):
    """With neither datetime nor time allowed, _strptime is refused like any other module."""
    bare = Policy(PolicyConfig(allowed_imports=("math",), workdir=str(workdir)))
    assert isinstance(assert_blocked(bare, "import _strptime", "'_strptime'"), ModuleNotAllowed)


PEP695 = {
    "generic function": ("def first[T](xs: list[T]) -> T:\n    return xs[0]\n"
                         "(first([3, 4]), first.__name__, [p.__name__ for p in first.__type_params__])"),
    "generic class": ("class Box[T]:\n    def __init__(self, v: T):\n        self.v = v\n"
                      "(Box(2).v, Box[int].__args__ == (int,), Box.__type_params__[0].__name__)"),
    "bounded and variadic": ("def f[T: (int, str), *Ts, **P](x: T) -> T:\n    return x\n"
                             "[p.__name__ for p in f.__type_params__]"),
    "type alias": "type Pair = tuple[int, int]\ntype Tree[T] = T | list[Tree[T]]\n(Pair.__name__, str(Tree[int]))",
}


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 syntax exists from Python 3.12")
@pytest.mark.parametrize("src", PEP695.values(), ids=PEP695.keys())
def test_type_parameter_syntax_runs_like_plain_python(policy, src):
    plain: dict = {}
    body, last = src.rsplit("\n", 1)
    exec(body, plain)
    assert run(policy, src) == eval(last, plain)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 syntax exists from Python 3.12")
@pytest.mark.parametrize("src,needle", [
    ("type X = ().__class__.__base__", "__base__"),
    ("def f[_sc_T](): pass", "_sc_"),
    ("class C[final_answer]: pass", "final_answer"),
    ("def f[T: ().__class__.__subclasses__](): pass", "__subclasses__"),
    ("type A[**_sc_P] = int", "_sc_"),
    ("type final_answer = int", "final_answer"),
])
def test_type_parameter_syntax_gets_the_same_checks(policy, src, needle):
    assert_blocked(policy, src, needle)


def test_allowing_the_strptime_helper_explicitly_keeps_strptime_working(workdir):
    both = Policy(PolicyConfig(allowed_imports=("datetime", "_strptime"), workdir=str(workdir)))
    assert run(both, "import datetime\ndatetime.datetime.strptime('2024', '%Y').year") == 2024


def test_os_path_after_import_os_says_how_to_authorize_it(workdir):
    only_os = Policy(PolicyConfig(allowed_imports=("os",), workdir=str(workdir)))
    err = assert_blocked(only_os, "import os\nos.path.join('a', 'b')", "'os.path' is not authorized")
    assert "'os.*'" in str(err) and "'os.path'" in str(err)
    for patterns in (("os", "os.path"), ("os.*",)):
        both = Policy(PolicyConfig(allowed_imports=patterns, workdir=str(workdir)))
        assert run(both, "import os\nos.path.join('a', 'b')") == os.path.join("a", "b")
