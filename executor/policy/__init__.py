"""The sandbox policy (docs/design.md, "Isolation", layer 3: defence in depth behind the OS jail).

Compile time: a RestrictedPython transformer decides every ast node class (nodes.py), rejects
dunder and frame/traceback internals, code-from-strings builtins and reserved names at every
binding site. Run time: imports go through the allowlist and yield filtered module copies;
getattr & co., object.__setattr__, str.format fields, class patterns and open() are guarded;
final_answer() cannot be swallowed by an except handler. `violations()` checks compiled code
against the invariant the policy promises (invariant.py).
"""
from executor.policy.core import CompiledCell, Policy, PolicyConfig
from executor.policy.errors import FinalAnswerSignal, ModuleNotAllowed, PolicyError, PolicyViolation
from executor.policy.invariant import violations

__all__ = ["Policy", "PolicyConfig", "CompiledCell", "PolicyError", "PolicyViolation",
           "ModuleNotAllowed", "FinalAnswerSignal", "violations"]
