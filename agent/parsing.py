"""Getting actions out of model text: code blocks for CodeAgent, JSON tool calls otherwise."""
from __future__ import annotations

import ast
import json
import re
from typing import Any

from agent.errors import AgentParsingError
from agent.models.base import ToolCall

__all__ = ["parse_code_blobs", "fix_final_answer_code", "parse_json_tool_calls", "CODE_TAGS"]

CODE_TAGS = ("<code>", "</code>")
_FENCE = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)\n?```", re.S)

_FORMAT_HINT = (
    "Your code must be in a block like this:\n"
    "Thought: Your reasoning here\n"
    "<code>\n# Your python code here\nfinal_answer(\"YOUR FINAL ANSWER\")\n</code>"
)


def parse_code_blobs(text: str, tags: tuple[str, str] = CODE_TAGS) -> str:
    """Code from <code>…</code> blocks, else ```py fences, else the whole text if it is Python.

    Several blocks are joined, in order, into one action.
    """
    open_tag, close_tag = map(re.escape, tags)
    blocks = re.findall(rf"{open_tag}(.*?){close_tag}", text, re.S)
    if not blocks:
        # The stop sequence often eats the closing tag: accept an unclosed last block.
        m = re.search(rf"{open_tag}(.*)$", text, re.S)
        if m and "```" not in m.group(1):
            blocks = [m.group(1)]
    if not blocks:
        blocks = _FENCE.findall(text)
    blocks = [_strip_inner_fence(b).strip("\n") for b in blocks]
    blocks = [b for b in blocks if b.strip()]
    if blocks:
        return "\n\n".join(blocks)
    stripped = text.strip()
    if stripped:
        try:
            ast.parse(stripped)
            # a bare word or sentence fragment parses as Python too; require a statement-ish shape
            if re.search(r"[=(]|^\s*(import|for|if|def|print)\b", stripped, re.M):
                return stripped
        except SyntaxError:
            pass
    if "final" in text and "answer" in text:
        raise AgentParsingError(
            "Error in code parsing: no code block found. It seems you are trying to return the "
            "final answer: call it in code, e.g.\n<code>\nfinal_answer(\"YOUR FINAL ANSWER\")\n</code>")
    raise AgentParsingError(f"Error in code parsing: no code block found in your output.\n{_FORMAT_HINT}\n"
                            "Make sure to provide correct code blobs.")


def _strip_inner_fence(block: str) -> str:
    # Models sometimes put a ```py fence inside <code> tags.
    m = _FENCE.search(block)
    return m.group(1) if m else block


def fix_final_answer_code(code: str) -> str:
    """If code both assigns to `final_answer` and calls it, rename the variable so the call works."""
    if not re.search(r"(?<![\w.])final_answer\s*\(", code) or not re.search(r"(?<![\w.])final_answer\s*=(?!=)", code):
        return code
    # every whole-word use that is not a call refers to the variable
    return re.sub(r"(?<![\w.])final_answer(?![\w(])(?!\s*\()", "final_answer_variable", code)


def _json_values(text: str) -> list[Any]:
    """Every top-level JSON object or array embedded in text, in order."""
    decoder = json.JSONDecoder(strict=False)
    found, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def parse_json_tool_calls(text: str, name_key: str = "name", arguments_key: str = "arguments") -> list[ToolCall]:
    """Tool calls written as JSON in text: one object, a list of them, or several objects."""
    calls: list[ToolCall] = []
    for value in _json_values(text):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and name_key in item:
                args = item.get(arguments_key, {})
                if isinstance(args, str):
                    try:
                        args = json.loads(args)
                    except json.JSONDecodeError:
                        pass
                calls.append(ToolCall(str(item[name_key]), args, f"call_{len(calls)}"))
    if not calls:
        raise AgentParsingError(
            "Error in tool-call parsing: no tool call found. Answer with a JSON object like "
            f'{{"{name_key}": "tool_name", "{arguments_key}": {{"arg": "value"}}}}; '
            f"to finish, call final_answer: "
            f'{{"{name_key}": "final_answer", "{arguments_key}": {{"answer": "..."}}}}')
    return calls
