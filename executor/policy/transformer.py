"""Compile-time policy: a RestrictedPython node transformer tuned for agent code.

RestrictedPython's own transformer routes every attribute access, subscript, iteration and
in-place operation through a run-time guard, and rejects every name starting with "_". That
costs 2-10x on loops and breaks ordinary code (`self._x`). We keep its framework (error
collection and, above all, the rule that an AST node type without a reviewed visitor is
rejected, so new syntax is never trusted by accident) and replace the guards with
compile-time checks on names, plus a few rewrites where the check needs a run-time value:
`x.format`/`x.format_map` go through a checked formatter, `x.__setattr__`/`__delattr__`
through the write checks, class patterns through a check of `__match_args__`, and every
except handler first re-raises a pending final_answer(). Which node classes are accepted, checked or refused: executor.policy.nodes.
"""
from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from executor.policy.names import (FORBIDDEN_NAMES, GUARD_PREFIX, READ_DUNDERS, SLOT_SETTERS,
                                   attr_problem, attr_write_problem, is_dunder, match_attr_problem)
from executor.policy.nodes import CHECKED, PLAIN, REFUSED

__all__ = ["CellTransformer", "FORMAT_GUARD", "FINAL_CHECK", "INSTANCE_DICT", "SLOT_SETTER",
           "MATCH_CLASSES", "MATCH_PINNED", "HOOKS"]

FORMAT_GUARD = GUARD_PREFIX + "format_attr"
INSTANCE_DICT = GUARD_PREFIX + "instance_dict"
FINAL_CHECK = GUARD_PREFIX + "final_check"
SLOT_SETTER = GUARD_PREFIX + "slot_setter"
MATCH_CLASSES = GUARD_PREFIX + "match_classes"
# The one name the compiler binds in user scopes: a case's checked classes (guards.match_classes).
MATCH_PINNED = GUARD_PREFIX + "mc"
# Every hook the compiler calls; the policy puts them in the builtins.
HOOKS = (FORMAT_GUARD, INSTANCE_DICT, FINAL_CHECK, SLOT_SETTER, MATCH_CLASSES)
_FORMAT_METHODS = ("format", "format_map")


_NO_ARGS = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                         kwarg=None, defaults=[])


class CellTransformer(RestrictingNodeTransformer):
    """Checks one cell; problems are collected as (line, message) in `self.problems`."""

    def __init__(self, reserved_names: frozenset[str] = frozenset()):
        super().__init__()
        self.reserved = reserved_names
        self.problems: list[tuple[int | None, str]] = []
        self._class_body = False  # visiting the statements directly in a class body

    # -- framework hooks --
    def error(self, node, info):
        self.problems.append((getattr(node, "lineno", None), info))

    def warn(self, node, info):
        pass

    def not_allowed(self, node):
        self.error(node, f"{type(node).__name__} syntax is not supported in the sandbox")

    def generic_visit(self, node):
        self.not_allowed(node)  # default deny: a node class not in executor.policy.nodes
        return node

    # -- names: every place the language binds one --
    def _check_binding(self, node, name: str | None) -> None:
        """A name being assigned, defined, imported, caught, declared or taken as a parameter."""
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
        self._check_binding(node, node.arg)
        return self.node_contents_visit(node)

    def visit_alias(self, node: ast.alias):
        if node.name != "*":
            self._check_binding(node, node.asname or node.name.split(".")[0])
            for part in node.name.split(".")[1:]:  # `import a.b as c` reads a.b
                problem = attr_problem(part)
                if problem:
                    self.error(node, problem)
        return node

    def _visit_declaration(self, node):
        for name in node.names:
            self._check_binding(node, name)
        return node

    visit_Global = visit_Nonlocal = _visit_declaration

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.level:
            self.error(node, "relative imports are not available in the sandbox; import modules by name")
        for alias in node.names:  # `from m import name` reads m.name
            problem = attr_problem(alias.name) if alias.name != "*" else None
            if problem:
                self.error(node, problem)
        return self.node_contents_visit(node)

    def _call(self, hook: str, *args: ast.expr) -> ast.Call:
        """A call of a hook. In a class body, names are looked up in the class namespace
        first: a metaclass's __prepare__ chooses that mapping and may keep a reference to
        write into it, so there the hook is fetched by a lambda, `(lambda: hook)()(...)`,
        whose lookup skips the class namespace (globals, then the sandbox builtins)."""
        func = ast.Name(hook, ast.Load())
        if self._class_body:
            func = ast.Call(ast.Lambda(_NO_ARGS, func), [], [])
        return ast.Call(func=func, args=list(args), keywords=[])

    def _visit_def(self, node):
        in_class = self._class_body
        if not (in_class and is_dunder(node.name) and not isinstance(node, ast.ClassDef)):
            self._check_binding(node, node.name)  # any dunder method may be defined in a class
        # Decorators, bases, defaults and annotations run in the enclosing scope (a method's
        # defaults in the class body); only the body is a scope of its own.
        body = node.body
        node.body = []
        node = self.node_contents_visit(node)
        self._class_body = isinstance(node, ast.ClassDef)
        try:
            node.body = [new for stmt in body for new in _as_list(self.visit(stmt))]
        finally:
            self._class_body = in_class
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_def

    def _visit_type_param(self, node):
        self._check_binding(node, node.name)
        return self.node_contents_visit(node)

    visit_TypeVar = visit_ParamSpec = visit_TypeVarTuple = _visit_type_param

    # -- structural pattern matching: captures bind names, class patterns read attributes --
    def visit_MatchAs(self, node):
        self._check_binding(node, node.name)
        return self.node_contents_visit(node)

    def visit_MatchStar(self, node):
        self._check_binding(node, node.name)
        return node

    def visit_MatchMapping(self, node):
        self._check_binding(node, node.rest)
        return self.node_contents_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass):
        for name in node.kwd_attrs:  # `case C(attr=x)` reads obj.attr
            problem = match_attr_problem(name)
            if problem:
                self.error(node, problem)
        return self.node_contents_visit(node)

    def visit_Match(self, node: ast.Match):
        """Positional class patterns read the attributes the class's __match_args__ names,
        known only at run time. Before each case that has some, a case that never matches
        checks those classes (guards.match_classes) and binds them to a hidden name, which
        the patterns then use: `case C(x):` becomes `case _ if (_sc_mc := check(C)) is None:
        pass` followed by `case _sc_mc.c0(x):`."""
        node = self.node_contents_visit(node)
        cases = []
        for case in node.cases:
            positional = [p for p in ast.walk(case.pattern) if isinstance(p, ast.MatchClass) and p.patterns]
            if positional and self._class_body:
                # The pinned classes would live in the class namespace (see _call).
                self.error(case.pattern, "class patterns with positional sub-patterns are not supported "
                                         "directly in a class body; match inside a function or method, "
                                         "or use keyword sub-patterns (C(x=a))")
            elif positional:
                pin = ast.NamedExpr(ast.Name(MATCH_PINNED, ast.Store()),
                                    self._call(MATCH_CLASSES, *(p.cls for p in positional)))
                guard = ast.Compare(pin, [ast.Is()], [ast.Constant(None)])
                check = ast.match_case(ast.MatchAs(), guard, [ast.Pass()])
                for i, p in enumerate(positional):
                    p.cls = ast.Attribute(ast.Name(MATCH_PINNED, ast.Load()), f"c{i}", ast.Load())
                for new in ast.walk(check):
                    ast.copy_location(new, case.pattern)
                cases.append(check)
            cases.append(case)
        node.cases = cases
        return node

    # -- attributes --
    def visit_Attribute(self, node: ast.Attribute):
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            problem = attr_problem(node.attr)
            if node.attr == "__dict__":  # instances only, checked at run time
                return self._located(self._call(INSTANCE_DICT, node.value), node)
            if problem:
                self.error(node, problem)
            elif node.attr in _FORMAT_METHODS:
                return self._located(self._call(FORMAT_GUARD, node.value, ast.Constant(node.attr)), node)
            elif node.attr in SLOT_SETTERS:
                return self._located(self._call(SLOT_SETTER, node.value, ast.Constant(node.attr)), node)
        else:
            problem = attr_write_problem(node.attr)
            if problem:
                self.error(node, problem)
        return node

    @staticmethod
    def _located(new, old):
        copy_locations(new, old)
        return new

    # -- final_answer() must end the cell even inside `try: ... except BaseException:` --
    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        self._check_binding(node, node.name)
        node = self.node_contents_visit(node)
        check = ast.Expr(self._call(FINAL_CHECK))
        copy_locations(check, node.body[0])
        node.body.insert(0, check)
        return node


def _as_list(result) -> list:
    if result is None:
        return []
    return result if isinstance(result, list) else [result]


def _plain(self, node):
    return self.node_contents_visit(node)


def _refused(self, node):
    self.not_allowed(node)
    return node


for _name in PLAIN:
    setattr(CellTransformer, f"visit_{_name}", _plain)
for _name in REFUSED:
    setattr(CellTransformer, f"visit_{_name}", _refused)
_missing = [n for n in CHECKED if f"visit_{n}" not in CellTransformer.__dict__]
assert not _missing, f"node classes in nodes.CHECKED without their own visitor: {_missing}"
