"""proto/lint.py: the contract passes it, and each rule catches what it is for."""
from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "proto" / "lint.py"
_spec = importlib.util.spec_from_file_location("proto_lint", _PATH)
protolint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(protolint)

BAD = '''syntax = "proto3";
package demo;

// Documented.
message Job {
  // Documented.
  uint64 timeout = 1;
  uint32 retries = 2;
  // Documented.
  string BadName = 3;
}

enum Color {
  RED = 0;
  // Documented.
  COLOR_BLUE = 1;
}

// Documented.
service Jobs {
  // Documented.
  rpc Run(Job) returns (Job);
}
'''


def test_the_contract_is_clean_and_matches_its_release_snapshot():
    assert protolint.main([]) == 0


def test_lint_catches_each_rule(tmp_path):
    (tmp_path / "bad.proto").write_text(BAD)
    [file] = protolint.compile_files(tmp_path, ["bad.proto"])
    problems = "\n".join(protolint.lint(file))
    for expected in ["field Job.retries has no leading comment", "enum Color has no leading comment",
                     "field Job.timeout measures something", "field 'BadName' is not lower_snake_case",
                     "zero value of Color must be COLOR_UNSPECIFIED", "enum value RED has no leading comment",
                     "rpc Run must take RunRequest and return RunResponse", "must end in a version"]:
        assert expected in problems, problems
    assert "COLOR_BLUE" not in problems


@pytest.fixture(scope="module")
def released():
    [file] = protolint.compile_files()
    return protolint.summary(file)


def test_additions_are_not_breaking(released):
    new = copy.deepcopy(released)
    new["messages"]["Limits"]["fields"]["99"] = {"name": "new_thing_ms", "type": 4, "type_name": "", "label": 1, "oneof": ""}
    new["enums"]["ErrorReason"]["99"] = "SOMETHING_NEW"
    new["messages"]["Brand"] = {"fields": {}, "reserved_numbers": []}
    assert protolint.breaking(released, new) == []


@pytest.mark.parametrize("change, expected", [
    (lambda s: s["messages"]["Limits"]["fields"]["1"].update(name="wall_ms"), "name changed"),
    (lambda s: s["messages"]["Limits"]["fields"]["1"].update(type=13), "type changed"),
    (lambda s: s["messages"]["Limits"]["fields"].pop("1"), "removed without `reserved 1;`"),
    (lambda s: s["enums"]["ExecuteStatus"].pop("3"), "value 3 (EXECUTE_STATUS_TIMEOUT) removed"),
    (lambda s: s["messages"].pop("Value"), "message Value removed"),
    (lambda s: s["services"]["ExecutorService"]["Execute"].__setitem__(2, False), "rpc ExecutorService.Execute"),
])
def test_breaking_changes_are_caught(released, change, expected):
    new = copy.deepcopy(released)
    change(new)
    assert any(expected in p for p in protolint.breaking(released, new)), protolint.breaking(released, new)


def test_a_removed_field_whose_number_is_reserved_is_fine(released):
    new = copy.deepcopy(released)
    new["messages"]["Limits"]["fields"].pop("1")
    new["messages"]["Limits"]["reserved_numbers"] = [1]
    assert protolint.breaking(released, new) == []


def test_the_snapshot_is_plain_json_a_reviewer_can_read():
    snap = json.loads(next((_PATH.parent / "snapshot").glob("*.json")).read_text())
    assert snap["package"] == "sandcell.executor.v1" and "ExecuteResult" in snap["messages"]
