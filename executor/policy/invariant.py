"""The policy's promise, checked on what it compiled rather than on the source: walk every
nested code object of a cell and list each attribute access or name binding the checks
should have made impossible. Tests run it over every corpus and over fuzzed programs; a
non-empty answer means the transformer let something through.

What it checks, per instruction:
- attribute reads (LOAD_ATTR, LOAD_METHOD, LOAD_SUPER_ATTR) pass the rule of `obj.name`, and
  none reads a method the compiler must route through a guard (format, __setattr__, ...);
  writes and deletes (STORE_ATTR, DELETE_ATTR) pass the write rule; IMPORT_FROM names pass
  the read rule;
- class patterns (MATCH_CLASS): the keyword attribute names, a constant tuple loaded just
  before, pass the read rule; a pattern with positional sub-patterns matches against a
  class pinned by guards.match_classes (`_sc_mc.cN`), so its __match_args__ were checked;
- names: no `_sc_` name is loaded other than the hooks, none is bound other than the
  compiler's own pinned-classes name, and no reserved name (final_answer, tools) is bound,
  by a store, a delete, or as a parameter; in a class body (or an annotation scope that
  sees one) no `_sc_` name is looked up or bound at all: that namespace is the metaclass's
  choice.
"""
from __future__ import annotations

import dis
import re
from types import CodeType

from executor.policy.names import (GUARD_PREFIX, attr_problem, attr_write_problem,
                                   match_attr_problem)
from executor.policy.transformer import HOOKS, MATCH_PINNED

__all__ = ["violations", "code_objects"]

_READS = {"LOAD_ATTR", "LOAD_METHOD", "LOAD_SUPER_ATTR"}
_WRITES = {"STORE_ATTR", "DELETE_ATTR"}
_NAME_LOADS = {"LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_DEREF", "LOAD_CLASSDEREF",
               "LOAD_FROM_DICT_OR_GLOBALS", "LOAD_FROM_DICT_OR_DEREF", "LOAD_FAST_CHECK",
               "LOAD_FAST_AND_CLEAR", "LOAD_FAST_LOAD_FAST"}
_NAME_STORES = {"STORE_NAME", "STORE_GLOBAL", "STORE_FAST", "STORE_DEREF", "DELETE_NAME",
                "DELETE_GLOBAL", "DELETE_FAST", "DELETE_DEREF", "STORE_FAST_LOAD_FAST",
                "STORE_FAST_STORE_FAST"}
_PINNED_SLOT = re.compile(r"c\d+")
# Lookups that consult a class namespace first (in nested code: class bodies and the
# annotation scopes inside them; at the top level, the cell's own globals).
_MAPPING_LOOKUPS = {"LOAD_NAME", "STORE_NAME", "DELETE_NAME", "LOAD_FROM_DICT_OR_GLOBALS",
                    "LOAD_FROM_DICT_OR_DEREF", "LOAD_CLASSDEREF"}
_LOADABLE = frozenset(HOOKS) | {MATCH_PINNED}


def code_objects(code: CodeType):
    """`code` and every code object nested in it (functions, classes, comprehensions...)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from code_objects(const)


def _names(ins: dis.Instruction) -> tuple[str, ...]:
    """The names an instruction uses: one, or two for 3.13's paired LOAD/STORE_FAST forms."""
    value = ins.argval
    if isinstance(value, tuple):
        return tuple(v for v in value if isinstance(v, str))
    return (value,) if isinstance(value, str) else ()


def _binding_problem(name: str, reserved: frozenset[str]) -> str | None:
    if name in reserved:
        return f"binds reserved name {name!r}"
    if name.startswith(GUARD_PREFIX) and name != MATCH_PINNED:
        return f"binds hook name {name!r}"
    return None


def _one(code: CodeType, reserved: frozenset[str], nested: bool) -> list[str]:
    out = []
    where = f"{code.co_name} (line {code.co_firstlineno})"
    nparams = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + \
        bool(code.co_flags & 0x08)
    for name in (*code.co_varnames[:nparams], *code.co_cellvars):
        problem = _binding_problem(name, reserved)
        if problem:
            out.append(f"{where}: parameter or cell {problem}")
    instrs = list(dis.get_instructions(code))
    for i, ins in enumerate(instrs):
        op = ins.opname
        for name in _names(ins):
            if nested and op in _MAPPING_LOOKUPS and name.startswith(GUARD_PREFIX):
                out.append(f"{where}: {op} {name!r} in a class namespace")
            elif op in _READS:
                problem = match_attr_problem(name)
                if problem:
                    out.append(f"{where}: {op} {name!r}: {problem}")
            elif op in _WRITES:
                problem = attr_write_problem(name)
                if problem:
                    out.append(f"{where}: {op} {name!r}: {problem}")
            elif op == "IMPORT_FROM":
                problem = attr_problem(name)
                if problem:
                    out.append(f"{where}: {op} {name!r}: {problem}")
            elif op in _NAME_STORES:
                problem = _binding_problem(name, reserved)
                if problem:
                    out.append(f"{where}: {op} {problem}")
            elif op in _NAME_LOADS and name.startswith(GUARD_PREFIX) and name not in _LOADABLE:
                out.append(f"{where}: {op} loads hidden name {name!r}")
        if op == "MATCH_CLASS":
            out += _match_class_problems(where, instrs, i)
    return out


def _match_class_problems(where: str, instrs: list[dis.Instruction], i: int) -> list[str]:
    out = []
    keywords = instrs[i - 1].argval if instrs[i - 1].opname == "LOAD_CONST" else None
    if not isinstance(keywords, tuple):
        return [f"{where}: MATCH_CLASS without a constant tuple of keyword names before it"]
    for name in keywords:
        problem = match_attr_problem(name)
        if problem:
            out.append(f"{where}: MATCH_CLASS keyword {name!r}: {problem}")
    if instrs[i].argval:  # positional sub-patterns: the class must be a pinned one
        slot, pinned = instrs[i - 2], instrs[i - 3]
        if not (slot.opname in _READS and _PINNED_SLOT.fullmatch(str(slot.argval))
                and pinned.opname in _NAME_LOADS and pinned.argval == MATCH_PINNED):
            out.append(f"{where}: MATCH_CLASS with positional sub-patterns on a class that "
                       "was not checked by match_classes")
    return out


def violations(*codes: CodeType | None, reserved_names: tuple[str, ...] = ("final_answer",)) -> list[str]:
    """Every breach of the invariant in the given compiled code (a cell's body and expr)."""
    reserved = frozenset(reserved_names)
    return [problem for code in codes if code is not None
            for inner in code_objects(code) for problem in _one(inner, reserved, inner is not code)]
