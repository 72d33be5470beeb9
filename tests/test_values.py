"""The wire form of a result value (executor.values): scalars take a short path that must give
exactly what the general JSON/repr path gives, and anything it doesn't cover falls through."""
import json

import pytest

from executor.values import REPR_LIMIT_CHARS, encode_value


class LoudInt(int):
    def __repr__(self):
        return "LoudInt!"


@pytest.mark.parametrize("value", [
    0, -5, 2**63, -(2**64) + 1, 2**64, 10**30,  # either side of the short path's int bound
    True, False, 1.5, 1e16, -0.0, 1e-300,
    "", "quote\" backslash\\ newline\n nul\x00 é 😀", "x" * 1000, "\x00" * 1000, "y" * 1001,
])
def test_scalars_round_trip_through_json_and_repr(value):
    wire = encode_value(value)
    assert wire["type_name"] == type(value).__name__
    assert json.loads(wire["json"]) == value and type(json.loads(wire["json"])) is type(value)
    assert wire["repr"] == repr(value)[:REPR_LIMIT_CHARS] + ("…" if wire["repr_truncated"] else "")
    assert wire["repr_truncated"] == (len(repr(value)) > REPR_LIMIT_CHARS)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_have_no_json(value):
    wire = encode_value(value)
    assert wire["json"] == "" and wire["repr"] == repr(value) and wire["type_name"] == "float"


def test_a_subclass_keeps_its_own_repr():
    wire = encode_value(LoudInt(3))
    assert wire == {"type_name": "LoudInt", "json": "3", "repr": "LoudInt!", "repr_truncated": False}


def test_a_long_escaped_string_is_cut_to_the_repr_limit():
    wire = encode_value("\x00" * 1100)  # repr is 4 chars per character
    assert wire["repr_truncated"] and len(wire["repr"]) == REPR_LIMIT_CHARS + 1
    assert json.loads(wire["json"]) == "\x00" * 1100
