"""`sandcell.agent[.x]` and `sandcell.executor.x` as names for the `agent` and `executor` packages.

The folders stay top-level (the container image, `python -m executor` and existing users
import them so), but short names like `agent` collide easily with a user's own modules, so the
documented paths live under `sandcell`. An alias must be the *same* module object, not a second
copy loaded from the same file (two copies would mean two `Tool` classes, two error trees), so
a meta-path finder hands out the original module under the long name.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

__all__ = ["install"]

# long prefix -> short package; `sandcell.executor.v1` (generated proto code) is a real
# subpackage of sandcell.executor and is left to the normal import system.
_ALIASES = {"sandcell.agent": "agent", "sandcell.executor": "executor"}
_REAL = ("sandcell.executor.v1",)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass  # already executed under its short name

    # runpy's needs, so that `python -m sandcell.agent` / `python -m sandcell.executor` run the
    # short packages' __main__ code
    def get_code(self, fullname):
        spec = importlib.util.find_spec(self.target)
        return spec.loader.get_code(self.target) if spec and spec.loader else None

    def is_package(self, fullname) -> bool:
        spec = importlib.util.find_spec(self.target)
        return bool(spec and spec.submodule_search_locations is not None)


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in _REAL or any(fullname.startswith(r + ".") for r in _REAL):
            return None
        for long, short in _ALIASES.items():
            if fullname.startswith(long + ".") or (fullname == long and long == "sandcell.agent"):
                real = short + fullname[len(long):]
                _check_not_shadowed(short)
                if importlib.util.find_spec(real) is None:
                    return None
                return importlib.util.spec_from_loader(fullname, _AliasLoader(real))
        return None


# sandcell's own copies of the short-named packages sit beside it (same checkout or site-packages)
_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _check_not_shadowed(short: str) -> None:
    """A user's own `agent.py` earlier on sys.path would otherwise be handed out as
    `sandcell.agent`: refuse loudly, saying which file is in the way."""
    module = sys.modules.get(short)
    origin = getattr(module, "__file__", None) if module is not None else None
    if module is None:
        spec = importlib.util.find_spec(short)
        origin = spec.origin if spec is not None else None
    if origin is None:
        return
    if os.path.dirname(os.path.dirname(os.path.abspath(origin))) != _HOME:
        raise ImportError(
            f"sandcell.{short} is sandcell's {short!r} package, but the module {short!r} found first on "
            f"sys.path is {origin}: rename that module (or move it off sys.path) so it does not shadow "
            f"sandcell's.", name=f"sandcell.{short}")


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
