"""Getting code and JSON tool calls out of model text."""
import pytest

from agent import AgentParsingError
from agent.parsing import fix_final_answer_code, parse_code_blobs, parse_json_tool_calls


@pytest.mark.parametrize("text, code", [
    ("Thought: add\n<code>\nx = 1 + 1\nprint(x)\n</code>", "x = 1 + 1\nprint(x)"),
    ("Thought: the stop sequence ate the tag\n<code>\nx = 2\n", "x = 2"),
    ("Thought\n```py\na = 1\n```\ntext\n```python\nb = 2\n```", "a = 1\n\nb = 2"),
    ("<code>\n```python\nc = 3\n```\n</code>", "c = 3"),
    ("<code>a = 1</code> then <code>b = a</code>", "a = 1\n\nb = a"),
    ("import math\nprint(math.pi)", "import math\nprint(math.pi)"),
])
def test_code_is_found(text, code):
    assert parse_code_blobs(text) == code


def test_prose_is_a_parsing_error_with_the_expected_format():
    with pytest.raises(AgentParsingError, match="<code>"):
        parse_code_blobs("I think we should compute the sum first.")


def test_a_final_answer_in_prose_gets_a_specific_hint():
    with pytest.raises(AgentParsingError, match="final_answer"):
        parse_code_blobs("The final answer is 42")


def test_final_answer_variable_is_renamed():
    code = "final_answer = compute()\nfinal_answer(final_answer)"
    assert fix_final_answer_code(code) == "final_answer_variable = compute()\nfinal_answer(final_answer_variable)"
    assert fix_final_answer_code("final_answer(1)") == "final_answer(1)"


def test_json_tool_calls_in_text():
    calls = parse_json_tool_calls('Action:\n{"name": "search", "arguments": {"q": "x"}}\nand\n'
                                  '{"name": "add", "arguments": "{\\"a\\": 1}"}')
    assert [(c.name, c.arguments) for c in calls] == [("search", {"q": "x"}), ("add", {"a": 1})]
    listed = parse_json_tool_calls('[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}]')
    assert [c.name for c in listed] == ["a", "b"]


def test_no_json_is_a_parsing_error():
    with pytest.raises(AgentParsingError, match="final_answer"):
        parse_json_tool_calls("I will search the web.")
