"""Default deny by node type: the decision the policy takes for every `ast` class of
CPython 3.11-3.13. The transformer installs a visitor for each class below and refuses any
other (a newer Python's new syntax is refused until someone reviews it and adds it here);
tests/test_policy_nodes.py fails on any class of the running Python found in no table, and
on any field of a class not in FIELDS (a new field may carry a name no visitor checks).
"""
from __future__ import annotations

__all__ = ["PLAIN", "CHECKED", "REFUSED", "NOT_PARSED", "FIELDS"]

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

# The fields reviewed per class (the union of 3.11-3.13). Visitors walk every child node of
# every field; the fields that hold names as plain strings (Name.id, arg.arg, alias.name,
# Attribute.attr, MatchClass.kwd_attrs, MatchAs/MatchStar.name, MatchMapping.rest,
# Global/Nonlocal.names, ExceptHandler.name, ImportFrom.module, the def, class and type
# parameter names) are checked by the CHECKED visitors; keyword.arg names a parameter of
# the callee, bound there under the callee's own checks.
FIELDS = {name.strip(): frozenset(fields.split()) for name, fields in
          (line.split(":") for line in """
    AnnAssign: target annotation value simple
    Assert: test msg
    Assign: targets value type_comment
    AsyncFor: target iter body orelse type_comment
    AsyncFunctionDef: name args body decorator_list returns type_comment type_params
    AsyncWith: items body type_comment
    Attribute: value attr ctx
    AugAssign: target op value
    Await: value
    BinOp: left op right
    BoolOp: op values
    Bytes: s
    Call: func args keywords
    ClassDef: name bases keywords body decorator_list type_params
    Compare: left ops comparators
    Constant: value kind
    Delete: targets
    Dict: keys values
    DictComp: key value generators
    ExceptHandler: type name body
    Expr: value
    Expression: body
    For: target iter body orelse type_comment
    FormattedValue: value conversion format_spec
    FunctionDef: name args body decorator_list returns type_comment type_params
    FunctionType: argtypes returns
    GeneratorExp: elt generators
    Global: names
    If: test body orelse
    IfExp: test body orelse
    Import: names
    ImportFrom: module names level
    Interactive: body
    JoinedStr: values
    Lambda: args body
    List: elts ctx
    ListComp: elt generators
    Match: subject cases
    MatchAs: pattern name
    MatchClass: cls patterns kwd_attrs kwd_patterns
    MatchMapping: keys patterns rest
    MatchOr: patterns
    MatchSequence: patterns
    MatchSingleton: value
    MatchStar: name
    MatchValue: value
    Module: body type_ignores
    Name: id ctx
    NameConstant: value kind
    NamedExpr: target value
    Nonlocal: names
    Num: n
    ParamSpec: name default_value
    Raise: exc cause
    Return: value
    Set: elts
    SetComp: elt generators
    Slice: lower upper step
    Starred: value ctx
    Str: s
    Subscript: value slice ctx
    Try: body handlers orelse finalbody
    TryStar: body handlers orelse finalbody
    Tuple: elts ctx
    TypeAlias: name type_params value
    TypeIgnore: lineno tag
    TypeVar: name bound default_value
    TypeVarTuple: name default_value
    UnaryOp: op operand
    While: test body orelse
    With: items body type_comment
    Yield: value
    YieldFrom: value
    alias: name asname
    arg: arg annotation type_comment
    arguments: posonlyargs args vararg kwonlyargs kw_defaults kwarg defaults
    comprehension: target iter ifs is_async
    keyword: arg value
    match_case: pattern guard body
    withitem: context_expr optional_vars
""".strip().splitlines())}
