"""TEST ONLY: the language policy switched off, so that the layers behind it (the OS jail, the
server's distrust of its workers) are tested against arbitrary Python, as DESIGN.md's threat
model demands ("each layer is tested as if the others had fallen").

`Unrestricted` stands where a Policy stands in a worker: code is compiled by plain compile()
with the real builtins, and every import is the real module. The jail is unchanged.

It can't be reached from a request: only a server started with --test-policy-off uses it, for
every session, and the server refuses that flag unless `policy_off_permitted()` holds:
SANDCELL_UNSAFE_TEST_MODE=policy-off in its environment AND no production marker file
(the image ships /etc/sandcell/production; its root filesystem is read-only).
"""
from __future__ import annotations

import ast
import builtins
import importlib
import os
from types import ModuleType
from typing import Mapping

from executor.policy.core import CompiledCell
from executor.policy.files import FileWrites

__all__ = ["Unrestricted", "policy_off_permitted", "PRODUCTION_MARKER", "UNSAFE_ENV"]

PRODUCTION_MARKER = "/etc/sandcell/production"
UNSAFE_ENV = ("SANDCELL_UNSAFE_TEST_MODE", "policy-off")


def policy_off_permitted(environ: Mapping[str, str] | None = None, marker: str = PRODUCTION_MARKER) -> str | None:
    """None if a server may run sessions without the policy here, else why not."""
    environ = os.environ if environ is None else environ
    name, value = UNSAFE_ENV
    if environ.get(name) != value:
        return f"--test-policy-off needs {name}={value} in the environment (tests only)"
    if os.path.lexists(marker):
        return f"--test-policy-off is refused where {marker} exists (a production image)"
    return None


class _Everything:
    """The allowlist of a session without policy: every module."""
    patterns = ("*",)

    def __call__(self, name: str) -> bool:
        return True


class Unrestricted:
    """A Policy's interface, without the policy."""

    def __init__(self, config):
        self.config = config
        self.allowed = _Everything()
        self.file_writes = FileWrites()

    def may_have_written_files(self) -> bool:
        return True

    def import_module(self, name: str) -> ModuleType:
        return importlib.import_module(name)

    def new_namespace(self, extra_builtins: dict) -> dict:
        return {"__builtins__": {**vars(builtins), **extra_builtins}, "__name__": "__main__"}

    def compile(self, source: str, filename: str = "<cell>") -> CompiledCell:
        tree = ast.parse(source, filename, "exec")
        expr = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            expr = compile(ast.Expression(tree.body.pop().value), filename, "eval", dont_inherit=True)
        return CompiledCell(compile(tree, filename, "exec", dont_inherit=True), expr)
