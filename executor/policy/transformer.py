"""Compile-time policy: a RestrictedPython node transformer tuned for agent code.

RestrictedPython's own transformer routes every attribute access, subscript, iteration and
in-place operation through a run-time guard, and rejects every name starting with "_". That
costs 2-10x on loops and breaks ordinary code (`self._x`). We keep its framework (error
collection and, above all, the rule that an AST node type without a reviewed visitor is
rejected, so new syntax is never trusted by accident) and replace the guards with
compile-time checks on names, plus two rewrites: `x.format`/`x.format_map` go through a
checked formatter, and every except handler first re-raises a pending final_answer().
"""
from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from executor.policy.names import (FORBIDDEN_NAMES, GUARD_PREFIX, READ_DUNDERS, attr_problem,
                                   attr_write_problem, is_dunder)

__all__ = ["CellTransformer", "FORMAT_GUARD", "FINAL_CHECK", "INSTANCE_DICT"]

FORMAT_GUARD = GUARD_PREFIX + "format_attr"
INSTANCE_DICT = GUARD_PREFIX + "instance_dict"
FINAL_CHECK = GUARD_PREFIX + "final_check"
_FORMAT_METHODS = ("format", "format_map")

# Node types accepted as they are: reviewed, they carry no way around the checks below
# (names, attributes and imports are handled by the visitors further down).
_PLAIN = """
    Module Expression Expr Pass Break Continue Return Delete Assign AugAssign AnnAssign
    For AsyncFor While If With AsyncWith withitem Raise Try TryStar Assert Import
    Global Nonlocal Lambda arguments keyword IfExp Dict Set List Tuple Starred Slice
    ListComp SetComp DictComp GeneratorExp comprehension Await Yield YieldFrom
    Compare Call Subscript Constant JoinedStr FormattedValue NamedExpr BoolOp BinOp UnaryOp
    Load Store Del And Or Add Sub Mult MatMult Div Mod Pow LShift RShift BitOr BitXor BitAnd
    FloorDiv Invert Not UAdd USub Eq NotEq Lt LtE Gt GtE Is IsNot In NotIn
    Match match_case MatchValue MatchSingleton MatchSequence MatchClass MatchOr
""".split()


class CellTransformer(RestrictingNodeTransformer):
    """Checks one cell; problems are collected as (line, message) in `self.problems`."""

    def __init__(self, reserved_names: frozenset[str] = frozenset()):
        super().__init__()
        self.reserved = reserved_names
        self.problems: list[tuple[int | None, str]] = []

    # -- framework hooks --
    def error(self, node, info):
        self.problems.append((getattr(node, "lineno", None), info))

    def warn(self, node, info):
        pass

    def not_allowed(self, node):
        self.error(node, f"{type(node).__name__} syntax is not supported in the sandbox")

    # -- names --
    def _check_binding(self, node, name: str | None) -> None:
        """A name being assigned, defined, imported or caught."""
        if name is None:
            return
        if name in self.reserved:
            self.error(node, f"{name!r} is reserved in the sandbox and cannot be reassigned; "
                             "choose another name for your variable")
        elif not (is_dunder(name) and name in READ_DUNDERS):  # __init__, __slots__, __hash__ = None
            self._check_identifier(node, name)

    def _check_identifier(self, node, name: str) -> None:
        if name.startswith(GUARD_PREFIX):
            self.error(node, f"names starting with {GUARD_PREFIX!r} are reserved for the sandbox")
        elif is_dunder(name) and name not in READ_DUNDERS:  # `__rmul__ = __mul__` in a class body
            self.error(node, f"the name {name!r} is not available in the sandbox; "
                             "use ordinary names and builtins")
        elif name in FORBIDDEN_NAMES:
            self.error(node, f"{name}() is not available in the sandbox: {FORBIDDEN_NAMES[name]}")

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load):
            self._check_identifier(node, node.id)
        else:
            self._check_binding(node, node.id)
        return node

    def visit_arg(self, node: ast.arg):
        self._check_identifier(node, node.arg)
        return self.node_contents_visit(node)

    def visit_alias(self, node: ast.alias):
        if node.name != "*":
            self._check_binding(node, node.asname or node.name.split(".")[0])
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.level:
            self.error(node, "relative imports are not available in the sandbox; import modules by name")
        return self.node_contents_visit(node)

    def _visit_def(self, node):
        if not (is_dunder(node.name) and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            self._check_binding(node, node.name)  # any dunder method may be defined
        return self.node_contents_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_def

    def visit_MatchAs(self, node):
        self._check_binding(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchStar(self, node):
        self._check_binding(node, node.name)
        return node

    def visit_MatchMapping(self, node):
        self._check_binding(node, node.rest)
        return self.node_contents_visit(node)

    # -- attributes --
    def visit_Attribute(self, node: ast.Attribute):
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            problem = attr_problem(node.attr)
            if node.attr == "__dict__":  # instances only, checked at run time
                call = ast.Call(func=ast.Name(INSTANCE_DICT, ast.Load()), args=[node.value], keywords=[])
                copy_locations(call, node)
                return call
            if problem:
                self.error(node, problem)
            elif node.attr in _FORMAT_METHODS:
                call = ast.Call(func=ast.Name(FORMAT_GUARD, ast.Load()),
                                args=[node.value, ast.Constant(node.attr)], keywords=[])
                copy_locations(call, node)
                return call
        else:
            problem = attr_write_problem(node.attr)
            if problem:
                self.error(node, problem)
        return node

    # -- final_answer() must end the cell even inside `try: ... except BaseException:` --
    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        self._check_binding(node, node.name)
        node = self.node_contents_visit(node)
        check = ast.Expr(ast.Call(func=ast.Name(FINAL_CHECK, ast.Load()), args=[], keywords=[]))
        copy_locations(check, node.body[0])
        node.body.insert(0, check)
        return node


def _plain(self, node):
    return self.node_contents_visit(node)


for _name in _PLAIN:
    setattr(CellTransformer, f"visit_{_name}", _plain)
