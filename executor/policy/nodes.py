"""Default deny by node type: the decision the policy takes for every `ast` class of
CPython 3.11-3.13. The transformer installs a visitor for each class below and refuses any
other (a newer Python's new syntax is refused until someone reviews it and adds it here);
tests/test_policy_nodes.py fails on any class of the running Python found in no table.
"""
from __future__ import annotations

__all__ = ["PLAIN", "CHECKED", "REFUSED", "NOT_PARSED"]

# Accepted as they are: reviewed, they carry no way around the checks (their children are
# still visited, so names, attributes and imports inside them are checked).
PLAIN = frozenset("""
    Module Expression Expr Pass Break Continue Return Delete Assign AugAssign AnnAssign
    For AsyncFor While If With AsyncWith withitem Raise Try TryStar Assert Import
    Lambda arguments keyword IfExp Dict Set List Tuple Starred Slice
    ListComp SetComp DictComp GeneratorExp comprehension Await Yield YieldFrom
    Compare Call Subscript Constant JoinedStr FormattedValue NamedExpr BoolOp BinOp UnaryOp
    Load Store Del And Or Add Sub Mult MatMult Div Mod Pow LShift RShift BitOr BitXor BitAnd
    FloorDiv Invert Not UAdd USub Eq NotEq Lt LtE Gt GtE Is IsNot In NotIn
    match_case MatchValue MatchSingleton MatchSequence MatchOr TypeAlias
""".split())

# Accepted after a check or a rewrite of their own (a visit_<Name> method in the transformer):
# every node that binds a name, reads or writes an attribute, imports, catches, or reads
# attributes implicitly (class patterns).
CHECKED = frozenset("""
    Name arg alias ImportFrom FunctionDef AsyncFunctionDef ClassDef Global Nonlocal
    Attribute ExceptHandler Match MatchClass MatchAs MatchStar MatchMapping
    TypeVar ParamSpec TypeVarTuple
""".split())

# Refused whenever they appear in a cell.
REFUSED = frozenset({
    "Interactive",   # a mode of compile(), never produced by parsing a cell
    "FunctionType",  # func_type mode of compile(): signature comments, not code
    "TypeIgnore",    # only with type_comments=True, which the policy never asks for
    "TemplateStr", "Interpolation",  # 3.14 t-strings: not reviewed yet
})

# Never produced by ast.parse on 3.11+: abstract base classes, and deprecated aliases kept
# for old code (Num, Str, ... are Constant; Index/ExtSlice are plain expressions; Suite,
# Param, AugLoad, AugStore belong to Python 2). The transformer refuses them all the same.
NOT_PARSED = frozenset("""
    AST mod stmt expr expr_context boolop operator unaryop cmpop excepthandler pattern
    type_ignore type_param slice
    Num Str Bytes NameConstant Ellipsis _ast_Ellipsis Index ExtSlice Suite Param AugLoad AugStore
""".split())
