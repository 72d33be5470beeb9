"""Default deny by node type: every `ast` class of CPython 3.11-3.13 (and of the running
Python) is decided in executor/policy/nodes.py, handled by a visitor of the policy's own,
and anything else is refused, so a new Python cannot add an unguarded construct silently."""
from __future__ import annotations

import ast
import warnings

import pytest

from executor.policy import nodes
from executor.policy.transformer import CellTransformer

# ast's classes on 3.11, 3.12 and 3.13 (the union), so the table is checked for versions
# other than the one running the tests too.
KNOWN = set("""
    AST Add And AnnAssign Assert Assign AsyncFor AsyncFunctionDef AsyncWith Attribute AugAssign
    AugLoad AugStore Await BinOp BitAnd BitOr BitXor BoolOp Break Bytes Call ClassDef Compare
    Constant Continue Del Delete Dict DictComp Div Ellipsis Eq ExceptHandler Expr Expression
    ExtSlice FloorDiv For FormattedValue FunctionDef FunctionType GeneratorExp Global Gt GtE If
    IfExp Import ImportFrom In Index Interactive Invert Is IsNot JoinedStr LShift Lambda List
    ListComp Load Lt LtE MatMult Match MatchAs MatchClass MatchMapping MatchOr MatchSequence
    MatchSingleton MatchStar MatchValue Mod Module Mult Name NameConstant NamedExpr Nonlocal Not
    NotEq NotIn Num Or Param ParamSpec Pass Pow RShift Raise Return Set SetComp Slice Starred
    Store Str Sub Subscript Suite Try TryStar Tuple TypeAlias TypeIgnore TypeVar TypeVarTuple
    UAdd USub UnaryOp While With Yield YieldFrom _ast_Ellipsis alias arg arguments boolop cmpop
    comprehension excepthandler expr expr_context keyword match_case mod operator pattern slice
    stmt type_ignore type_param unaryop withitem
""".split())
RUNNING = {name for name, cls in vars(ast).items() if isinstance(cls, type) and issubclass(cls, ast.AST)}
TABLES = {"PLAIN": nodes.PLAIN, "CHECKED": nodes.CHECKED, "REFUSED": nodes.REFUSED,
          "NOT_PARSED": nodes.NOT_PARSED}


def test_every_node_class_is_decided():
    decided = set().union(*TABLES.values())
    assert sorted((KNOWN | RUNNING) - decided) == []


def test_each_class_is_decided_once():
    seen: dict[str, str] = {}
    for table, names in TABLES.items():
        for name in names:
            assert name not in seen, f"{name} is in both {seen[name]} and {table}"
            seen[name] = table


@pytest.mark.parametrize("name", sorted((nodes.PLAIN | nodes.CHECKED | nodes.REFUSED) & RUNNING))
def test_each_accepted_class_has_the_policys_own_visitor(name):
    # Not one inherited from RestrictedPython, whose visitors insert guards we don't provide.
    visitor = getattr(CellTransformer, f"visit_{name}")
    assert visitor.__module__ == "executor.policy.transformer", (name, visitor)


@pytest.mark.parametrize("name", sorted((nodes.REFUSED | nodes.NOT_PARSED) & RUNNING))
def test_refused_and_unparsed_classes_are_refused(name):
    cls = getattr(ast, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        node = cls(ast.Constant(1)) if name == "Index" else cls()  # Index(value) returns value
    if type(node) is not cls:  # a deprecated factory (Index, ExtSlice, Ellipsis): builds no node
        assert node is None or type(node).__name__ in nodes.PLAIN | nodes.CHECKED  # of its own
        return
    checker = CellTransformer()
    checker.visit(node)
    assert checker.problems, f"{name} was accepted"


def test_a_class_unknown_to_the_tables_is_refused():
    class Novel(ast.expr):  # what a future Python might add
        _fields = ()
    checker = CellTransformer()
    checker.visit(ast.Expression(Novel()))
    assert any("Novel" in msg for _line, msg in checker.problems)


@pytest.mark.parametrize("name", sorted(n for n in RUNNING if getattr(ast, n)._fields))
def test_every_field_is_reviewed(name):
    assert set(getattr(ast, name)._fields) <= nodes.FIELDS.get(name, frozenset()), \
        f"ast.{name} has fields the policy has not reviewed: executor/policy/nodes.py FIELDS"
