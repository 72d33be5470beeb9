"""The policy object a worker holds: compiles cells, builds the namespace, gates imports."""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, replace
from types import CodeType, ModuleType

from executor.policy import guards
from executor.policy.errors import PolicyViolation
from executor.policy.files import NO_OTHER_FILE_WRITERS, FileWrites, confined_open
from executor.policy.modules import Allowlist, ModuleGate
from executor.policy.names import FORBIDDEN_CALLS, FORBIDDEN_NAMES
from executor.policy.stdlib import SANDBOX_MARK, SANDBOX_TOKEN, harden_stdlib
from executor.policy.transformer import (FINAL_CHECK, FORMAT_GUARD, INSTANCE_DICT, MATCH_CLASSES,
                                         SLOT_SETTER, CellTransformer)

__all__ = ["Policy", "PolicyConfig", "CompiledCell"]

# Builtins user code never gets: code from strings, the caller's scopes, interactive helpers,
# the import machinery. (`open`, `__import__` and the attribute functions are replaced.)
_DROPPED = {*FORBIDDEN_NAMES, *FORBIDDEN_CALLS, "__import__", "open", "copyright", "credits",
            "license", "__loader__", "__spec__", "__package__", "__name__", "__doc__"}
_CACHE_SIZE = 256


@dataclass(frozen=True)
class PolicyConfig:
    allowed_imports: tuple[str, ...]
    file_access: bool = True
    workdir: str | None = None          # None: the process's cwd (the jail chdirs into it)
    reserved_names: tuple[str, ...] = ("final_answer",)


@dataclass(frozen=True)
class CompiledCell:
    body: CodeType                      # every statement but a trailing expression
    expr: CodeType | None               # the trailing expression: its value is the result


class Policy:
    def __init__(self, config: PolicyConfig):
        harden_stdlib()
        self.config = config
        self.allowed = Allowlist(config.allowed_imports)
        self._gate = ModuleGate(self.allowed)
        self._reserved = frozenset(config.reserved_names)
        self._cache: dict[tuple[str, str], CompiledCell] = {}
        self.file_writes = FileWrites()
        self._adopted = False  # set by adopt(): this process holds one session
        base = {k: v for k, v in vars(builtins).items() if k not in _DROPPED}
        base.update(
            getattr=guards.guarded_getattr, setattr=guards.guarded_setattr,
            delattr=guards.guarded_delattr, hasattr=guards.guarded_hasattr, vars=guards.guarded_vars,
            globals=guards.user_globals, locals=guards.user_locals,
            open=confined_open(config.workdir, config.file_access, self.file_writes),
            __import__=self._gate.import_hook,
            **{name: guards.unavailable(name) for name in FORBIDDEN_CALLS},
            **{FORMAT_GUARD: guards.format_attr, FINAL_CHECK: guards.final_check,
               INSTANCE_DICT: guards.instance_dict, SLOT_SETTER: guards.slot_setter,
               MATCH_CLASSES: guards.match_classes},
            **{SANDBOX_MARK: SANDBOX_TOKEN},  # how the stdlib patches recognise sandboxed frames
        )
        self.builtins = base

    def may_have_written_files(self) -> bool:
        """Whether the work dir may have grown: a writable open() happened, or the allowlist
        holds a module that writes files without one (then it is measured every time)."""
        return self.config.file_access and (
            self.file_writes.seen or not NO_OTHER_FILE_WRITERS.issuperset(self.config.allowed_imports))

    def preload(self) -> None:
        """Import every allowed module now (in the zygote), so forked workers share them."""
        for pattern in self.config.allowed_imports:
            try:
                self._gate.import_module(pattern.removesuffix(".*"))
            except ImportError:
                pass  # not installed: the import fails later with a clear message
        self._gate.preload_c_helpers()

    def import_module(self, name: str) -> ModuleType:
        """The filtered copy of an allowed module; used to restore checkpointed modules."""
        self._gate.import_hook(name)
        return self._gate.import_module(name)

    def adopt(self, workdir: str | None, reserved_names: tuple[str, ...]) -> "Policy":
        """This policy, made the one of a single session: in a worker forked from the zygote
        that built it. Far cheaper in the worker's memory than a new Policy: the builtins, the
        filtered module copies and the compile cache stay the zygote's shared pages, where a
        new one copies them (and writes the reference count of all they hold)."""
        self.config = replace(self.config, workdir=workdir, reserved_names=tuple(reserved_names))
        self._reserved = frozenset(reserved_names)
        self._cache = {}  # cells compiled before knew other reserved names
        self.file_writes = FileWrites()
        self.builtins["open"] = confined_open(workdir, self.config.file_access, self.file_writes)
        self._adopted = True
        return self

    def new_namespace(self, extra_builtins: dict) -> dict:
        if self._adopted:
            names = self.builtins  # one session per process: no copy needed
        else:
            names = dict(self.builtins)
        names.update(extra_builtins)
        return {"__builtins__": names, "__name__": "__main__"}

    def compile(self, source: str, filename: str = "<cell>") -> CompiledCell:
        key = (source, filename)
        cell = self._cache.get(key)
        if cell is not None:
            return cell
        tree = ast.parse(source, filename, "exec")
        checker = CellTransformer(self._reserved)
        tree = checker.visit(tree)
        if checker.problems:
            (line, msg), *others = sorted(checker.problems, key=lambda p: p[0] or 0)
            raise PolicyViolation(msg, line, tuple(others))
        expr = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop()
            expr = compile(ast.fix_missing_locations(ast.Expression(last.value)), filename, "eval",
                           dont_inherit=True)
        body = compile(ast.fix_missing_locations(tree), filename, "exec", dont_inherit=True)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        cell = self._cache[key] = CompiledCell(body, expr)
        return cell
