"""The import allowlist, and the filtered module copies that user code gets instead of the
real modules, so that nothing reachable from an allowed module leads outside the allowlist
(`statistics.sys`, `random._os`, `os.path` when only `os` is allowed)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

from executor.policy.errors import ModuleNotAllowed
from executor.policy.names import plain_str
from executor.policy.stdlib import hardened_module_attrs

__all__ = ["Allowlist", "ModuleGate"]

# Private modules that allowed C modules import *through the caller's __import__* each time
# they're used (CPython 3.12+: datetime.strptime and time.strptime import _strptime on every
# call, so in the sandbox they come through our hook). Such a module is served, to C and to
# user code alike, as a copy holding only the functions the C side calls: the real module
# leads to locale, calendar and from there to sys.
# helper module -> (allowed modules that need it, the names they call)
_ABSENT = object()
_C_HELPERS = {
    "_strptime": (("datetime", "time"), ("_strptime_datetime", "_strptime_time",
                                         "_strptime_datetime_date", "_strptime_datetime_time")),
}

# Modules the interpreter imports for its own use while running sandboxed code: PEP 695
# generic classes and aliases make C code call typing's helpers. Such imports come through
# PyImport_Import, which calls the frame's __import__ with a *list* fromlist (compiled code
# passes None or a tuple, and user code cannot call the hook itself) and then takes the
# module from sys.modules, discarding what the hook returned: so the hook lets the import
# happen and hands back nothing of it.
_INTERPRETER_IMPORTS = frozenset({"typing"})

# Compiler directives, not code: `from __future__ import annotations` is always allowed.
_ALWAYS = frozenset({"__future__"})

# Submodules of an allowed stdlib package come with it (`collections` gives `collections.abc`,
# `json` gives `json.decoder`), except private ones and these, which reach outside the
# session on their own. A pattern naming one (or `pkg.*`) still allows it on purpose.
DANGEROUS_SUBMODULES = {
    "asyncio.subprocess": "starts processes",
    "asyncio.unix_events": "child process watchers and raw OS event-loop internals",
    "concurrent.futures.process": "forks worker processes",
    "json.tool": "a command-line entry point: reads argv, opens files, exits the process",
    "logging.config": "listen() serves a socket that takes configuration, code included",
    "logging.handlers": "handlers that open sockets, send mail and rotate files",
    "xml.etree.ElementInclude": "XInclude reads any file or URL a document names",
    "xml.dom.xmlbuilder": "its entity resolver opens URLs",
    "urllib.request": "opens network connections and local files",
    "http.client": "opens network connections",
    "http.server": "serves sockets and runs CGI programs",
}


def _dangerous(name: str) -> str | None:
    for sub, why in DANGEROUS_SUBMODULES.items():
        if name == sub or name.startswith(sub + "."):
            return why
    return None


def _is_package(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        return hasattr(module, "__path__")
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.submodule_search_locations is not None


class Allowlist:
    """Patterns `pkg` (that module, plus the public submodules of a stdlib package, minus
    DANGEROUS_SUBMODULES) and `pkg.*` (the package and everything under it)."""

    def __init__(self, patterns: tuple[str, ...]):
        self.patterns = tuple(patterns)
        self._exact = frozenset(p for p in patterns if not p.endswith(".*"))
        self._trees = tuple(p[:-2] for p in patterns if p.endswith(".*"))
        self._memo: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        hit = self._memo.get(name)
        if hit is None:
            hit = name in self._exact or name in _ALWAYS or \
                any(name == t or name.startswith(t + ".") for t in self._trees) or \
                self._stdlib_submodule(name)
            self._memo[name] = hit
        return hit

    def _stdlib_submodule(self, name: str) -> bool:
        parts = name.split(".")
        if len(parts) < 2 or parts[0] not in sys.stdlib_module_names or _dangerous(name):
            return False
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in self._exact and not any(p.startswith("_") for p in parts[i:]):
                return _is_package(parent)  # os is a module: os.path is an alias, not part of it
        return False

    def leads_to(self, name: str) -> bool:
        """Whether some allowed module lives under `name` (so `import xml.etree` needs `xml`)."""
        prefix = name + "."
        return self(name) or any(p.startswith(prefix) for p in self._exact) or \
            any(t.startswith(prefix) for t in self._trees)


class ModuleGate:
    """Imports for user code: checks the allowlist, returns filtered copies (one per name)."""

    def __init__(self, allowed: Allowlist):
        self.allowed = allowed
        self._copies: dict[str, types.ModuleType] = {}

    def refusal(self, name: str) -> ModuleNotAllowed:
        shown = ", ".join(self.allowed.patterns) or "none"
        why = _dangerous(name)
        return ModuleNotAllowed(
            f"import of {name!r} is not allowed in this sandbox{f' ({why})' if why else ''}; "
            f"allowed modules: {shown}. Use only these, or ask the operator to widen the allowlist",
            name=name)

    def import_module(self, name: str) -> types.ModuleType:
        """The filtered copy of an allowed module (also used to restore checkpoints)."""
        name = plain_str(name, "module name")
        copy = self._copies.get(name)
        if copy is not None:
            return copy
        if name in _C_HELPERS:
            return self._c_helper(name)
        if not self.allowed.leads_to(name):
            raise self.refusal(name)
        try:
            real = importlib.import_module(name)
        except ImportError as exc:
            raise ModuleNotFoundError(f"no module named {name!r} in the sandbox", name=name) from exc
        copy = self._filtered_copy(real, name)
        self._copies[name] = copy
        return copy

    def _filtered_copy(self, real: types.ModuleType, name: str) -> types.ModuleType:
        copy = types.ModuleType(name, getattr(real, "__doc__", None))
        if not self.allowed(name):
            # Only a parent on the way to an allowed submodule: it shows nothing of its own.
            return copy
        hardened = hardened_module_attrs(name)
        for attr, value in list(vars(real).items()):
            if attr.startswith("_"):
                continue  # private helpers and the modules they import (random._os)
            if isinstance(value, types.ModuleType):
                continue  # submodules are attached by _attach when allowed and imported
            copy.__dict__[attr] = hardened.get(attr, value)
        exported = getattr(real, "__all__", None)
        if exported is not None:
            copy.__all__ = [n for n in exported if n in copy.__dict__]
        copy.__dict__["__getattr__"] = self._missing_attribute(real, name)
        return copy

    def _missing_attribute(self, real: types.ModuleType, name: str):
        """The copy's module __getattr__ (PEP 562): attaches an allowed submodule on first use
        (`collections.abc` after `import collections`), and otherwise says why the name is
        missing where the real module has it, and how to get it."""
        def __getattr__(attr: str):
            value = getattr(real, attr, _ABSENT) if type(attr) is str else _ABSENT
            if value is _ABSENT:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
            dotted = f"{name}.{attr}"
            if attr.startswith("_"):
                raise AttributeError(f"module {name!r}: private attribute {attr!r} is not available "
                                     "in the sandbox; use the module's public API")
            if not isinstance(value, types.ModuleType):
                raise AttributeError(f"module {name!r} has no attribute {attr!r} in the sandbox")
            if sys.modules.get(dotted) is value:  # a submodule, or an alias like os.path
                if self.allowed(dotted):
                    return self._attach(dotted)
                why = _dangerous(dotted)
                raise AttributeError(
                    f"{dotted!r} is not available in the sandbox: {why}" if why else
                    f"{dotted!r} is not authorized in this sandbox (only {name!r} is); ask the "
                    f"operator to allow {dotted!r} or {name + '.*'!r}")
            raise AttributeError(f"module {name!r} has no attribute {attr!r} in the sandbox: it is "
                                 f"the module {value.__name__!r}; import allowed modules directly")
        return __getattr__

    def _attach(self, dotted: str) -> types.ModuleType:
        """Import `a.b.c` and link the copies a -> b -> c; returns the copy of `a.b.c`."""
        parts = dotted.split(".")
        parent = None
        for i in range(len(parts)):
            mod = self.import_module(".".join(parts[: i + 1]))
            if parent is not None:
                parent.__dict__[parts[i]] = mod
            parent = mod
        return parent

    def import_hook(self, name, globals=None, locals=None, fromlist=(), level=0):
        """Stands in for builtins.__import__ for everything user code imports."""
        if level:
            raise ImportError("relative imports are not available in the sandbox; import modules by name")
        if type(fromlist) is list and name in _INTERPRETER_IMPORTS:
            importlib.import_module(name)
            return types.ModuleType(name)
        # Exact strs only: the allowlist and the copies are dicts keyed by name, which a str
        # subclass with a forged __hash__/__eq__ could otherwise match as an allowed module.
        name = plain_str(name, "module name")
        fromlist = tuple(plain_str(item, "imported name") for item in fromlist or ())
        if not name:
            raise ImportError("module names must be non-empty strings")
        if name in _C_HELPERS:
            return self._c_helper(name)
        if not self.allowed(name):
            raise self.refusal(name)
        leaf = self._attach(name)
        if not fromlist:
            return self._copies[name.split(".")[0]]
        for item in fromlist:
            if item == "*" or item in leaf.__dict__:
                continue
            sub = f"{name}.{item}"
            if self.allowed(sub):
                self._attach(sub)
            elif self._real_is_module(name, item):
                raise self.refusal(sub)
        return leaf

    def _helper_wanted(self, name: str) -> bool:
        return self.allowed(name) or any(self.allowed(m) for m in _C_HELPERS[name][0])

    def preload_c_helpers(self) -> None:
        """Build the helper copies the allowed modules will need (a jailed worker can't read
        module files, and forks share what the zygote built)."""
        for name in _INTERPRETER_IMPORTS:
            importlib.import_module(name)
        for name in _C_HELPERS:
            if self._helper_wanted(name):
                self._c_helper(name)

    def _c_helper(self, name: str) -> types.ModuleType:
        if not self._helper_wanted(name):
            raise self.refusal(name)
        names = _C_HELPERS[name][1]
        key = f"<helper {name}>"  # not a module name user code could ask for
        copy = self._copies.get(key)
        if copy is None:
            real = importlib.import_module(name)
            copy = self._copies[key] = types.ModuleType(name)
            copy.__dict__.update({n: getattr(real, n) for n in names if hasattr(real, n)})
        return copy

    @staticmethod
    def _real_is_module(name: str, item: str) -> bool:
        real = importlib.import_module(name)
        if isinstance(getattr(real, item, None), types.ModuleType):
            return True
        if not hasattr(real, "__path__"):
            return False
        try:
            return importlib.util.find_spec(f"{name}.{item}") is not None
        except ImportError:
            return False
