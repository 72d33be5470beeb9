"""The sandbox policy (docs/design.md, "Isolation", layer 3: defence in depth behind the OS jail).

Compile time: a RestrictedPython transformer rejects dunder and frame/traceback internals,
code-from-strings builtins and rebinding of reserved names. Run time: imports go through the
allowlist and yield filtered module copies; getattr & co., str.format fields and open() are
guarded; final_answer() cannot be swallowed by an except handler.
"""
from executor.policy.core import CompiledCell, Policy, PolicyConfig
from executor.policy.errors import FinalAnswerSignal, ModuleNotAllowed, PolicyError, PolicyViolation

__all__ = ["Policy", "PolicyConfig", "CompiledCell", "PolicyError", "PolicyViolation",
           "ModuleNotAllowed", "FinalAnswerSignal"]
