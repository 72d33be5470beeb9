"""Agent-written code runs unchanged under the policy (docs/design.md, Targets: >= 99 % of realistic
snippets). The corpus is bench/compat_corpus.py; the figures with smolagents for comparison:
`python -m bench.compat`."""
from __future__ import annotations

from bench.compat import measure_compat, run_reference, run_sandcell
from bench.compat_corpus import SNIPPETS, Snippet


def test_realistic_snippets_run_unchanged():
    res = measure_compat(with_smolagents=False)
    assert res["snippets"] >= 150
    assert res["reference_errors"] == [], "corpus snippets must run under plain exec"
    failures = "\n".join(f"{name}: want {d['want']}, got {d['got']}" for name, d in res["details"].items())
    assert res["sandcell_pct"] >= 99, f"changed under the policy:\n{failures}"


def test_corpus_names_are_unique_and_imports_declared():
    assert len({s.name for s in SNIPPETS}) == len(SNIPPETS)
    for s in SNIPPETS:
        for extra in s.imports:
            assert extra in s.code, f"{s.name} declares {extra} but does not use it"


def test_harness_notices_a_changed_snippet():
    # The comparison must be able to fail: a blocked construct, and a changed output.
    blocked = Snippet("blocked", "print('x')\n().__class__.__base__\n")
    assert run_sandcell(blocked) != run_reference(blocked)
    assert run_reference(Snippet("a", "print(1)\n")) != run_reference(Snippet("b", "print(2)\n"))
