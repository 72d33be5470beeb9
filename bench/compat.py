"""Compatibility with agent-written code (docs/design.md, Targets: >= 99 % of realistic snippets
unchanged; smolagents' local executor ~61 %). Every snippet of bench/compat_corpus.py runs
three ways, each in a fresh namespace and work dir:

- plain `exec` with the real builtins: the reference;
- our Policy in-process, the way the worker runs a cell (compile, exec body, eval the
  trailing expression; stdout through contextlib.redirect_stdout);
- smolagents' LocalPythonExecutor with the snippet's imports authorized.

A run is "unchanged" when its stdout and its result (the repr of the trailing expression,
of a final_answer() value, or of a `result` variable) equal the reference's.

    python -m bench.compat          # prints the figures and what failed
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass

from bench.compat_corpus import SNIPPETS, Snippet
from executor.config import DEFAULT_ALLOWED_IMPORTS

__all__ = ["measure_compat", "Outcome", "run_reference", "run_sandcell", "run_smolagents"]


@dataclass(frozen=True)
class Outcome:
    stdout: str
    result: str          # repr of the value, or "<error> Type: message"

    @classmethod
    def error(cls, stdout: str, exc: BaseException) -> "Outcome":
        return cls(stdout, f"<error> {type(exc).__name__}: {exc}")


class _Final(BaseException):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


def _final_answer(value=None):
    raise _Final(value)


def _ends_with_expression(code: str) -> bool:
    body = ast.parse(code).body
    return bool(body) and isinstance(body[-1], ast.Expr)


@contextlib.contextmanager
def _in_fresh_dir():
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        os.chdir(tmp)
        try:
            yield tmp
        finally:
            os.chdir(old)


def _capture(run) -> Outcome:
    """Runs `run()` -> (value, namespace) with stdout captured; applies the result rule."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            value, ns, has_expr = run()
    except _Final as final:
        return Outcome(out.getvalue(), repr(final.value))
    except Exception as exc:  # the snippet failed under this engine: that is a result
        return Outcome.error(out.getvalue(), exc)
    return Outcome(out.getvalue(), repr(value if has_expr else ns.get("result")))


def run_reference(snippet: Snippet) -> Outcome:
    def run():
        ns = {"__name__": "__main__", "final_answer": _final_answer}
        tree = ast.parse(snippet.code)
        expr = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<snippet>", "exec"), ns)
        value = eval(compile(ast.Expression(expr.value), "<snippet>", "eval"), ns) if expr else None
        return value, ns, expr is not None
    with _in_fresh_dir():
        return _capture(run)


def run_sandcell(snippet: Snippet) -> Outcome:
    from executor.policy import FinalAnswerSignal, Policy, PolicyConfig

    def final_answer(value=None):
        raise FinalAnswerSignal(value)

    def run():
        ns = policy.new_namespace({"final_answer": final_answer})
        cell = policy.compile(snippet.code, "<cell>")
        try:
            exec(cell.body, ns)
            value = eval(cell.expr, ns) if cell.expr is not None else None
        except FinalAnswerSignal as sig:
            raise _Final(sig.value) from None
        return value, ns, cell.expr is not None

    with _in_fresh_dir() as workdir:  # a policy per snippet: each has its own work dir
        policy = Policy(PolicyConfig(allowed_imports=DEFAULT_ALLOWED_IMPORTS + snippet.imports,
                                     workdir=workdir))
        return _capture(run)


def run_smolagents(snippet: Snippet) -> Outcome:
    from smolagents.default_tools import FinalAnswerTool
    from smolagents.local_python_executor import LocalPythonExecutor

    with _in_fresh_dir():
        executor = LocalPythonExecutor(additional_authorized_imports=list(snippet.imports))
        executor.send_tools({"final_answer": FinalAnswerTool()})
        try:
            out = executor(snippet.code)
        except Exception as exc:
            logs = executor.state.get("_print_outputs", "")
            return Outcome.error(str(logs), exc)
        stdout = str(executor.state.get("_print_outputs", ""))
        if out.is_final_answer:
            return Outcome(stdout, repr(out.output))
        if _ends_with_expression(snippet.code):
            return Outcome(stdout, repr(out.output))
        return Outcome(stdout, repr(executor.state.get("result")))


def measure_compat(with_smolagents: bool = True) -> dict:
    reference_errors, ours_failed, smol_failed, details = [], [], [], {}
    for snippet in SNIPPETS:
        want = run_reference(snippet)
        if want.result.startswith("<error>"):
            reference_errors.append(snippet.name)
        got = run_sandcell(snippet)
        if got != want:
            ours_failed.append(snippet.name)
            details[snippet.name] = {"want": want, "got": got}
        if with_smolagents:
            with contextlib.redirect_stderr(io.StringIO()):
                if run_smolagents(snippet) != want:
                    smol_failed.append(snippet.name)
    n = len(SNIPPETS)
    return {
        "snippets": n,
        "sandcell_pct": round(100 * (n - len(ours_failed)) / n, 1),
        "smolagents_pct": round(100 * (n - len(smol_failed)) / n, 1) if with_smolagents else None,
        "sandcell_failures": ours_failed,
        "smolagents_failures": smol_failed,
        "reference_errors": reference_errors,  # corpus bugs: every snippet must run under plain exec
        "details": details,
    }


def main() -> None:
    res = measure_compat()
    print(f"{res['snippets']} snippets: sandcell {res['sandcell_pct']}% unchanged, "
          f"smolagents LocalPythonExecutor {res['smolagents_pct']}%")
    for name in res["sandcell_failures"]:
        d = res["details"][name]
        print(f"  sandcell changed {name}:\n    want {d['want']}\n    got  {d['got']}")
    if res["reference_errors"]:
        print("  corpus snippets failing under plain exec:", ", ".join(res["reference_errors"]))
    if "-v" in sys.argv:
        print("  smolagents changed:", ", ".join(res["smolagents_failures"]))


if __name__ == "__main__":
    main()
