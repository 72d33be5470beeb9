"""Prompt templates, in smolagents' shape and syntax (Jinja), so a user's own `prompt_templates`
(e.g. smolagents' YAML files) work unchanged.

Variables, as smolagents passes them: system prompts get `tools` and `managed_agents` (dicts of
name -> tool, each with `to_code_prompt()` / `to_tool_calling_prompt()`, `name`, `description`,
`inputs`, `output_type`), `authorized_imports`, `custom_instructions`, `code_block_opening_tag`,
`code_block_closing_tag`; planning gets `task`, `tools`, `managed_agents`, `remaining_steps`;
managed agents get `name`, `task`, `final_answer`; the max-steps answer gets `task`.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jinja2

__all__ = ["populate_template", "PromptTemplates", "default_prompt_templates", "merge_prompt_templates",
           "CODE_SYSTEM_PROMPT", "TOOL_CALLING_SYSTEM_PROMPT", "PLANNING_INITIAL", "PLANNING_UPDATE_PRE",
           "PLANNING_UPDATE_POST", "FINAL_ANSWER_PRE", "FINAL_ANSWER_POST", "MANAGED_TASK", "MANAGED_REPORT"]

PromptTemplates = dict[str, Any]
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def populate_template(template: str, variables: Mapping[str, Any]) -> str:
    """Renders a Jinja template; an undefined variable is an error, not an empty string."""
    try:
        return _ENV.from_string(template).render(**variables)
    except jinja2.TemplateError as exc:
        raise ValueError(f"Error during jinja template rendering: {type(exc).__name__}: {exc}") from exc


_TOOLS_AS_CODE = """{%- for tool in tools.values() %}
{{ tool.to_code_prompt() }}
{% endfor %}
{%- for agent in managed_agents.values() %}
{{ agent.to_code_prompt() }}
{% endfor %}"""

_TOOLS_AS_LIST = """{%- for tool in tools.values() %}
{{ tool.to_tool_calling_prompt() }}
{%- endfor %}
{%- for agent in managed_agents.values() %}
{{ agent.to_tool_calling_prompt() }}
{%- endfor %}"""

_INSTRUCTIONS = """{%- if custom_instructions %}
{{ custom_instructions }}
{%- endif %}"""

CODE_SYSTEM_PROMPT = """You are an expert assistant who can solve any task using Python code. You will be given a task to solve as best you can.
To do so, you have been given access to a list of tools: these tools are Python functions which you can call with code.
To solve the task, you must plan forward to proceed in a cycle of Thought, Code, and Observation sequences.

At each step, in the 'Thought:' part, explain your reasoning and the tools you want to use.
Then, in the code part, write the code in simple Python. The code must open with '{{code_block_opening_tag}}' and close with '{{code_block_closing_tag}}'.
During each intermediate step, use 'print()' to save whatever information you will then need.
These print outputs will appear in the 'Observation:' field, which will be available as input for the next step.
In the end you have to return a final answer using the `final_answer` tool.

Here is an example:
---
Task: "What is the result of the following operation: 5 + 3 + 1294.678?"

Thought: I will use Python code to compute the result of the operation and then return the final answer using the `final_answer` tool.
{{code_block_opening_tag}}
result = 5 + 3 + 1294.678
final_answer(result)
{{code_block_closing_tag}}
---

Above the example used a notional tool; you only have access to these tools, Python functions you can call directly in your code:
```python
""" + _TOOLS_AS_CODE + """
```

Here are the rules you should always follow to solve your task:
1. Always provide a 'Thought:' sequence, and a '{{code_block_opening_tag}}' sequence ending with '{{code_block_closing_tag}}', else you will fail.
2. Use only variables that you have defined!
3. Always use the right arguments for the tools, preferably as keyword arguments: `answer = tool_name(query="...")`.
4. Don't chain too many tool calls in one code block when their output format is unpredictable: print results and use them in the next block.
5. Call a tool only when needed, and never re-do a tool call that you previously did with the exact same parameters.
6. Don't name any new variable with the same name as a tool: for instance don't name a variable 'final_answer'.
7. Never create any notional variables in your code, as having these in your logs will derail you from the true variables.
8. You can use imports in your code, but only from the following list of modules: {{authorized_imports}}
9. The state persists between code executions: if in one step you've created variables or imported modules, these will all persist.
10. Tools return their result to your code; a failing tool raises `ToolError`, which you may catch.
11. Don't give up! You're in charge of solving the task, not providing directions to solve it.
""" + _INSTRUCTIONS + """
Now Begin!"""


TOOL_CALLING_SYSTEM_PROMPT = """You are an expert assistant who can solve any task using tool calls. You will be given a task to solve as best you can.
To do so, you have been given access to some tools.

The tool call you write is an action: after the tool is executed, you will get the result of the tool call as an "Observation".
This Action/Observation can repeat N times; you should take several steps when needed.
You can use the result of a previous action as input for the next action.
To provide the final answer to the task, use the "final_answer" tool. It is the only way to complete the task.

If you cannot use native tool calls, write each action as a JSON object:
Action:
{"name": "tool_name", "arguments": {"arg_name": "value"}}
You may write several such objects in one step (not together with final_answer).

Example:
Action:
{"name": "final_answer", "arguments": {"answer": "insert your final answer here"}}

You have access to these tools:
""" + _TOOLS_AS_LIST + """

Rules:
1. Always provide a tool call, else you will fail.
2. Always use the right arguments for the tools, with the right types.
3. Call a tool only when needed; never re-do a tool call with the exact same arguments.
4. If no tool call is needed, use the final_answer tool to return your answer.
""" + _INSTRUCTIONS + """
Now Begin!"""


PLANNING_INITIAL = """You are a world expert at analyzing a situation to derive facts, and plan accordingly towards solving a task.
Below I will present you a task. You will need to 1. build a survey of facts known or needed to solve the task, then 2. make a plan of action to solve the task.

## 1. Facts survey
### 1.1. Facts given in the task
### 1.2. Facts to look up
### 1.3. Facts to derive

## 2. Plan
Develop a step-by-step high-level plan. Do not skip steps, do not add superfluous steps. Only write the high-level plan, DO NOT DETAIL INDIVIDUAL TOOL CALLS.
After writing the final step of the plan, write the '<end_plan>' tag and stop there.

You can leverage these tools:
""" + _TOOLS_AS_LIST + """

---
Now begin! Here is your task:
```
{{task}}
```
First in part 1, write the facts survey, then in part 2, write your plan."""


PLANNING_UPDATE_PRE = """You are a world expert at analyzing a situation, and plan accordingly towards solving a task.
You have been given the following task:
```
{{task}}
```
Below you will find the history of the attempts made so far to solve it."""

PLANNING_UPDATE_POST = """Now you have {{remaining_steps}} steps left.
Update the facts survey (facts given, learned, still to look up or derive), then write a new step-by-step high-level plan.
After writing the final step of the plan, write the '<end_plan>' tag and stop there.

You can leverage these tools:
""" + _TOOLS_AS_LIST + """
---
Here is the task again:
```
{{task}}
```"""


FINAL_ANSWER_PRE = """An agent tried to answer a user query but it got stuck and failed to do so. You are tasked with providing an answer instead. Here is the agent's memory:"""

FINAL_ANSWER_POST = """Based on the above, please provide an answer to the following user task:
{{task}}"""


MANAGED_TASK = """You're a helpful agent named '{{name}}'.
You have been submitted this task by your manager.
---
Task:
{{task}}
---
You're helping your manager solve a wider task: so make sure to not provide a one-line answer, but give as much information as possible to give them a clear understanding of the answer.
Put all of this in your final_answer tool: everything you do not pass as an argument to final_answer will be lost."""

MANAGED_REPORT = """Here is the final answer from your managed agent '{{name}}':
{{final_answer}}"""


def default_prompt_templates(system_prompt: str) -> PromptTemplates:
    """sandcell's templates around the given system prompt, in smolagents' nesting."""
    return {"system_prompt": system_prompt,
            "planning": {"initial_plan": PLANNING_INITIAL, "update_plan_pre_messages": PLANNING_UPDATE_PRE,
                         "update_plan_post_messages": PLANNING_UPDATE_POST},
            "managed_agent": {"task": MANAGED_TASK, "report": MANAGED_REPORT},
            "final_answer": {"pre_messages": FINAL_ANSWER_PRE, "post_messages": FINAL_ANSWER_POST}}


def merge_prompt_templates(defaults: PromptTemplates, given: Mapping[str, Any] | None) -> PromptTemplates:
    """The user's templates over ours. smolagents requires every key; here a missing one keeps
    our default, and an unknown key is a TypeError (a typo would otherwise be silently unused)."""
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if key not in out:
            raise TypeError(f"unknown prompt template {key!r}; known: {', '.join(out)}")
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise TypeError(f"prompt template {key!r} must be a dict with keys {', '.join(out[key])}")
            for sub, text in value.items():
                if sub not in out[key]:
                    raise TypeError(f"unknown prompt template {key}.{sub}; known: {', '.join(out[key])}")
                out[key][sub] = text
        else:
            out[key] = value
    return out
