"""The Hammer training prompt and answer (formats.md §5): one user turn, no chat tokens.

The layout follows the reference data script of the Hammer authors (four ``[BEGIN OF X]`` ...
``[END OF X]`` blocks, each followed by a blank line) with the instruction wording of the Hammer
2.x handler in BFCL, so a model trained here is asked in the words released checkpoints know.
A backend wraps the text in the model's own chat template.

The prompt is a plain concatenation ``PROMPT_HEAD + tools_json + PROMPT_MIDDLE + query +
PROMPT_TAIL`` so that a fast path (``hammer data prepare``) can keep the fixed blocks as
constants, render each tool once with :func:`tool_to_prompt_dict` and :func:`to_json`, and only
substitute names: every piece it needs is public here and :func:`render_prompt` is nothing more.
"""

from __future__ import annotations

import json
from typing import Any

from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.schema.params import param_to_spec

TASK_INSTRUCTION = """You are a tool calling assistant. In order to complete the user's request, you need to select one or more appropriate tools from the following tools and fill in the correct values for the tool parameters. Your specific tasks are:
1. Make one or more function/tool calls to meet the request based on the question.
2. If none of the function can be used, point it out and refuse to answer.
3. If the given question lacks the parameters required by the function, also point it out.

The following are characters that may interact with you
1. user: Provides query or additional information.
2. tool: Returns the results of the tool calling.
"""  # noqa: E501  (verbatim from bfcl_eval/model_handler/local_inference/hammer.py)

FORMAT_INSTRUCTION = """
The output MUST strictly adhere to the following JSON format, and NO other text MUST be included.
The example format is as follows. Please make sure the parameter type is correct. If no function call is needed, please directly output an empty list '[]'
```
[
    {"name": "func_name1", "arguments": {"argument1": "value1", "argument2": "value2"}},
    ... (more tool calls as required)
]
```
"""  # noqa: E501  (verbatim from bfcl_eval/model_handler/local_inference/hammer.py)

JSON_KWARGS: dict[str, Any] = {"ensure_ascii": False}
"""``json.dumps`` settings for the tool list and the answer: Python's default separators
(``", "``, ``": "``, one line, as the xLAM data the paper trained on) but non-ASCII text kept
as is, which is readable and costs far fewer tokens than ``\\uXXXX`` escapes."""

to_json = json.JSONEncoder(**JSON_KWARGS).encode
"""``json.dumps(obj, **JSON_KWARGS)`` with the encoder built once: ``json.dumps`` builds a new
one whenever it is given settings, a third of its cost on the small objects rendered per line."""

TASK_BLOCK = f"[BEGIN OF TASK INSTRUCTION]\n{TASK_INSTRUCTION}\n[END OF TASK INSTRUCTION]\n\n"
FORMAT_BLOCK = f"[BEGIN OF FORMAT INSTRUCTION]\n{FORMAT_INSTRUCTION}\n[END OF FORMAT INSTRUCTION]\n\n"

PROMPT_HEAD = TASK_BLOCK + "[BEGIN OF AVAILABLE TOOLS]\n"
"""Everything before the tool JSON; identical for every example (the prefix a KV cache can reuse)."""
PROMPT_MIDDLE = "\n[END OF AVAILABLE TOOLS]\n\n" + FORMAT_BLOCK + "[BEGIN OF QUERY]\n"
"""Everything between the tool JSON and the query."""
PROMPT_TAIL = "\n[END OF QUERY]\n\n"
"""Everything after the query (the reference script ends the prompt with a blank line too)."""


def _default_text(default: Any) -> str:
    return f"'{default}'" if isinstance(default, str) else to_json(default)


def describe_default(description: str, default: Any) -> str:
    """Mention a default in the description unless it already does (xLAM's usually say
    "Defaults to 'x'."): masking replaces the value in both places, so the model learns to copy
    it from the text rather than remember it. A description only listing the value among the
    choices ("celsius or fahrenheit") does not count as mentioning it."""
    text = _default_text(default)
    value = default if isinstance(default, str) else text
    if "default" in description.lower() and value in description:
        return description
    sep = " " if description and not description.endswith((" ", "\n")) else ""
    return f"{description}{sep}Defaults to {text}."


def param_spec(param: Param) -> dict[str, Any]:
    """One parameter as the prompt shows it: the source's own spec (type spelling, key order),
    nested properties marked the same way, a default mentioned, ``"required": true`` if required."""
    spec = param_to_spec(param, "bfcl")
    if param.properties:
        spec["properties"] = {p.name: param_spec(p) for p in param.properties}
        if isinstance(spec.get("required"), list):
            del spec["required"]  # replaced by the per-property marks
    if param.items is not None:
        spec["items"] = param_spec(param.items)
    if param.has_default:
        spec["description"] = describe_default(spec.get("description", ""), param.default)
    if param.required:
        spec["required"] = True
    return spec


def tool_to_prompt_dict(
    tool: Tool, *, name: str | None = None, param_names: list[str] | None = None
) -> dict[str, Any]:
    """A tool as the Hammer prompt lists it: ``{"name", "description", "parameters"}`` with the
    parameters a flat name -> spec map (no JSON-Schema wrapper), as in the xLAM data. ``name``
    and ``param_names`` stand in for the tool's own (a writer renders templates with them)."""
    names = param_names if param_names is not None else [p.name for p in tool.params]
    return {
        "name": tool.name if name is None else name,
        "description": tool.description,
        "parameters": {n: param_spec(p) for n, p in zip(names, tool.params, strict=True)},
    }


def tools_json(tools: list[Tool]) -> str:
    """The AVAILABLE TOOLS block's content."""
    return to_json([tool_to_prompt_dict(t) for t in tools])


def calls_json(calls: list[ToolCall]) -> str:
    """A list of calls as one line of JSON: ``[{"name": ..., "arguments": {...}}]``."""
    return to_json([c.to_dict() for c in calls])


def message_text(message: Message, *, fenced: bool = False) -> str:
    """A turn's text; an assistant turn that only carries tool calls shows them as JSON
    (fenced when the turn stands for the model's own earlier answer)."""
    if message.content or not message.tool_calls:
        return message.content
    return render_completion(message.tool_calls) if fenced else calls_json(message.tool_calls)


def render_query(messages: list[Message]) -> str:
    """The QUERY block's content: a lone user turn as it is, a longer conversation one
    ``role: text`` line per turn (the task instruction names these roles)."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    return "\n".join(f"{m.role}: {message_text(m)}" for m in messages)


def render_prompt(example: Example) -> str:
    """The full training prompt of one example (one user turn, without chat tokens)."""
    return (
        PROMPT_HEAD + tools_json(example.tools) + PROMPT_MIDDLE + render_query(example.messages) + PROMPT_TAIL
    )


def render_completion(calls: list[ToolCall]) -> str:
    """The answer the model learns to write: the JSON list in a fenced block (``[]`` = no call)."""
    return fence(calls_json(calls))


def fence(answer: str) -> str:
    """The answer's JSON in its fenced block (for a writer that builds the JSON itself)."""
    return "```\n" + answer + "\n```"
