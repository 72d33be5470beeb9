"""@tool and Tool: schemas from hints and docstrings, definition checks, argument validation."""
from typing import Any

import pytest

from agent import AgentToolCallError, Tool, tool


@tool
def get_weather(city: str, days: int = 1, units: str | None = None) -> str:
    """Gets the weather forecast.

    Args:
        city: The city name,
            e.g. "Paris".
        days: How many days ahead.
        units: "metric" or "imperial".
    """
    return f"{city}:{days}:{units}"


def test_tool_decorator_builds_inputs_from_hints_and_docstring():
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Gets the weather forecast."
    assert get_weather.inputs == {
        "city": {"type": "string", "description": 'The city name, e.g. "Paris".'},
        "days": {"type": "integer", "description": "How many days ahead.", "nullable": True},
        "units": {"type": "string", "description": '"metric" or "imperial".', "nullable": True},
    }
    assert get_weather.output_type == "string"
    assert get_weather("Oslo") == "Oslo:1:None"
    assert get_weather(city="Oslo", days=3, units="metric") == "Oslo:3:metric"


def test_parameters_schema_is_json_schema():
    schema = get_weather.parameters_schema()
    assert schema["required"] == ["city"]
    assert schema["properties"]["units"]["type"] == ["string", "null"]


def test_code_prompt_renders_a_python_stub():
    stub = get_weather.to_code_prompt()
    assert stub.startswith("def get_weather(city: str, days: int | None, units: str | None) -> str:")
    assert "city: The city name" in stub


@pytest.mark.parametrize("kwargs, fragment", [
    ({}, "missing required argument 'city'"),
    ({"city": 3}, "should be of type string"),
    ({"city": "x", "days": "2"}, "should be of type integer"),
    ({"city": "x", "days": True}, "should be of type integer"),
    ({"city": "x", "color": "red"}, "unknown arguments ['color']"),
])
def test_bad_arguments_raise_a_model_readable_error(kwargs, fragment):
    with pytest.raises(AgentToolCallError, match=".*") as info:
        get_weather(**kwargs)
    assert fragment in str(info.value)


def test_int_is_accepted_for_number():
    @tool
    def half(x: float) -> float:
        """Halves.

        Args:
            x: a number
        """
        return x / 2
    assert half(x=3) == 1.5


def test_tool_decorator_rejects_undocumented_or_untyped_functions():
    def no_doc(a: int) -> int:
        return a
    with pytest.raises(TypeError, match="docstring"):
        tool(no_doc)

    def no_hint(a) -> int:
        """Does.

        Args:
            a: thing
        """
    with pytest.raises(TypeError, match="type hint"):
        tool(no_hint)

    def undocumented_arg(a: int) -> int:
        """Does a thing."""
    with pytest.raises(TypeError, match="not described"):
        tool(undocumented_arg)


def test_tool_subclass_with_positional_call():
    class Multiply(Tool):
        name = "multiply"
        description = "Multiplies two numbers."
        inputs = {"a": {"type": "number", "description": "first"}, "b": {"type": "number", "description": "second"}}
        output_type = "number"

        def __init__(self, factor: int = 1):
            self.factor = factor  # instance state survives because tools run in the agent process
            super().__init__()

        def forward(self, a: float, b: float) -> float:
            return a * b * self.factor

    m = Multiply(factor=10)
    assert m(2, 3) == 60
    assert m(2, b=3) == 60
    with pytest.raises(AgentToolCallError):
        m(2, 3, 4)


def test_tool_subclass_definition_is_checked():
    class BadType(Tool):
        name = "bad"
        description = "d"
        inputs = {"a": {"type": "str", "description": "x"}}
        output_type = "string"

        def forward(self, a: Any) -> str:
            return a
    with pytest.raises(ValueError, match="allowed"):
        BadType()

    class Mismatch(Tool):
        name = "mismatch"
        description = "d"
        inputs = {"a": {"type": "string", "description": "x"}}
        output_type = "string"

        def forward(self, b: str) -> str:
            return b
    with pytest.raises(ValueError, match="must match inputs"):
        Mismatch()

    class BadName(Tool):
        name = "not valid"
        description = "d"
        inputs = {}
        output_type = "string"

        def forward(self) -> str:
            return ""
    with pytest.raises(ValueError, match="identifier"):
        BadName()
