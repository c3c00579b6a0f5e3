"""The Hammer authors' own prompts, byte for byte (authors.md; MadeAgents/Hammer, Apache-2.0).

Three renderings, so that a figure from here can stand next to the paper's:

- ``authors-sft``: the SFT rows of their ``train/data_processing.py`` (tools and answer as ASCII
  JSON, the query raw, no ``required`` marks or default hints added);
- ``authors-1.0``: their Hammer 1.0 test prompts (``data/test/hammer``), set-specific quirks
  included: API-Bank's escaped backticks and ``User:``/``AI:``/``API-Request:`` lines,
  Seal-Tools' ``.Required is true.`` suffixes, Tool-Alpaca's `` Required is true.``;
- ``authors-2.1``: their Hammer 2.1 test prompts (``data/test/hammer2.1``): the roles paragraph,
  original tools as ASCII JSON, the conversation as ChatML turns after the instruction turn.

The tools are shown as the source wrote them: a benchmark file's own tool objects (kept by the
paper reader in ``meta``) while the example still holds those very tools, else the xLAM dict of
each :class:`Tool` (which reproduces an xLAM tool exactly, and shows renamed or masked tools as
the authors' script would). The set-specific quirks follow ``meta["bench"]`` (the file's stem:
``apibank_l1``, ``apibank_l2``, ``sealtool``, ``toolalpaca``).

:func:`qwen_wrap` and :func:`qwen_hammer_wrap` are the LLaMA-Factory templates the authors
trained and tested with (``qwen``; ``qwen_hammer`` for 2.1); backends send those strings.
"""

from __future__ import annotations

import json
from typing import Any

from hammer_fc.formats.paper import SOURCE_ROLES, SOURCE_TOOLS
from hammer_fc.prompts.training import message_text
from hammer_fc.schema import Example, ToolCall
from hammer_fc.schema.params import tool_to_xlam

TASK = """You are a tool calling assistant. In order to complete the user's request, you need to select one or more appropriate tools from the following tools and fill in the correct values for the tool parameters. Your specific tasks are:
1. Make one or more function/tool calls to meet the request based on the question.
2. If none of the function can be used, point it out and refuse to answer.
3. If the given question lacks the parameters required by the function, also point it out."""  # noqa: E501

ROLES = """The following are characters that may interact with you
1. user: Provides query or additional information.
2. tool: Returns the results of the tool calling."""

FORMAT = """The output MUST strictly adhere to the following JSON format, and NO other text MUST be included.
The example format is as follows. Please make sure the parameter type is correct. If no function call is needed, please directly output an empty list '[]'
```
[
    {"name": "func_name1", "arguments": {"argument1": "value1", "argument2": "value2"}},
    ... (more tool calls as required)
]
```"""  # noqa: E501

SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
"""LLaMA-Factory's ``qwen`` system turn (its default system text), which every authors' prompt
starts with (not the "You are Qwen, created by Alibaba Cloud" of Qwen2.5's own template)."""
END = "<|im_end|>"
"""What closes every authors' training target."""

GENERATE = "\nGenerate API Request:"
"""The cue API-Bank's last turns end with: kept by 1.0, removed by 2.1."""


def _json(value: Any, *, ascii_: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_)


def source_tools(example: Example) -> list[dict[str, Any]]:
    """Each tool as a dict: the benchmark file's own object while the example still holds that
    very :class:`Tool` (key order, ``return``, Seal-Tools' tool-level ``required``), otherwise
    the tool's xLAM dict (what the authors' data script reads and writes)."""
    own = {id(tool): raw for tool, raw in example.meta.get(SOURCE_TOOLS, ())}
    return [own.get(id(tool)) or tool_to_xlam(tool) for tool in example.tools]


# --- SFT ---------------------------------------------------------------------------------------


def sft_prompt(example: Example) -> str:
    """The ``instruction`` of an SFT row of ``data_processing.py`` (tools ASCII JSON, query raw)."""
    tools = _json(source_tools(example), ascii_=True)
    return (
        f"[BEGIN OF TASK INSTRUCTION]\n{TASK}\n\n[END OF TASK INSTRUCTION]\n\n"
        f"[BEGIN OF AVAILABLE TOOLS]\n{tools}\n[END OF AVAILABLE TOOLS]\n\n"
        f"[BEGIN OF FORMAT INSTRUCTION]\n\n{FORMAT}\n\n[END OF FORMAT INSTRUCTION]\n\n"
        f"[BEGIN OF QUERY]\n{example.query if _plain_query(example) else _turn_lines(example)}\n"
        "[END OF QUERY]\n\n"
    )


def completion(calls: list[ToolCall]) -> str:
    """The authors' answer: ``json.dumps`` of ``[{"name", "arguments"}]`` (ASCII) in a fence."""
    return "```\n" + _json([c.to_dict() for c in calls], ascii_=True) + "\n```"


# --- Hammer 1.0 test prompts -------------------------------------------------------------------


def _required_suffix(spec: dict[str, Any], required: bool, sep: str) -> dict[str, Any]:
    return {**spec, "description": f"{spec.get('description', '')}{sep}Required is {str(required).lower()}."}


def _sealtool_10(tool: dict[str, Any]) -> dict[str, Any]:
    """``{name, description, parameters}``; each parameter loses ``required`` and gets
    ``.Required is true.``/``.Required is false.`` glued to its description."""
    listed = tool.get("required")
    listed = listed if isinstance(listed, list) else []
    parameters = {}
    for name, spec in (tool.get("parameters") or {}).items():
        if not isinstance(spec, dict):
            parameters[name] = spec
            continue
        own = spec.get("required")
        required = own if isinstance(own, bool) else name in listed
        parameters[name] = _required_suffix({k: v for k, v in spec.items() if k != "required"}, required, ".")
    return {"name": tool.get("name"), "description": tool.get("description"), "parameters": parameters}


def _toolalpaca_10(tool: dict[str, Any]) -> dict[str, Any]:
    """Parameters marked ``"required": true`` get `` Required is true.`` (mark kept)."""
    parameters = tool.get("parameters")
    if not isinstance(parameters, dict):
        return tool
    marked = {k: _required_suffix(v, True, " ") if _marked(v) else v for k, v in parameters.items()}
    return {**tool, "parameters": marked}


def _marked(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("required") is True


def tools_10(example: Example) -> str:
    """The AVAILABLE TOOLS of a 1.0 test prompt (raw JSON, set-specific rewrites)."""
    bench = example.meta.get("bench", "")
    tools = source_tools(example)
    if bench == "sealtool":
        tools = [_sealtool_10(t) for t in tools]
    elif bench == "toolalpaca":
        tools = [_toolalpaca_10(t) for t in tools]
    text = _json(tools, ascii_=False)
    return text.replace("`", "\\`") if bench.startswith("apibank") else text


def _plain_query(example: Example) -> bool:
    """A string query (one user turn that was not written as a turn list)."""
    messages = example.messages
    return SOURCE_ROLES not in example.meta and len(messages) == 1 and messages[0].role == "user"


def _roles(example: Example) -> list[str]:
    """The turns' roles as the source named them (``agent`` for a conversational reply,
    ``assistant`` for an API request): the paper reader keeps them, else ours are used."""
    roles = example.meta.get(SOURCE_ROLES)
    if isinstance(roles, list) and len(roles) == len(example.messages):
        return roles
    return [m.role for m in example.messages]


def _turn_lines(example: Example) -> str:
    """1.0's conversation: ``User: ``/``AI: `` lines; an assistant turn and the tool turn after
    it share one ``API-Request: call->result`` line. Every line ends with a newline (so the
    block ends ``...\n\n[END OF QUERY]``)."""
    lines = []
    messages, roles = example.messages, _roles(example)
    i = 0
    while i < len(messages):
        message, role = messages[i], roles[i]
        text = message_text(message)
        if role == "user":
            lines.append(f"User: {text}\n")
        elif role == "assistant" and i + 1 < len(messages) and messages[i + 1].role == "tool":
            lines.append(f"API-Request: {text}->{message_text(messages[i + 1])}\n")
            i += 1
        elif role == "tool":
            lines.append(f"API-Request: ->{text}\n")
        else:  # agent (our assistant)
            lines.append(f"AI: {_ai_text(example, text)}\n")
        i += 1
    return "".join(lines)


def _ai_text(example: Example, text: str) -> str:
    """The one place their file differs from its own source: record 263 of API-Bank L1."""
    if example.meta.get("bench") == "apibank_l1" and example.id == "263" and text == "Sure, let me check.":
        return text + " "
    return text


def test_prompt_10(example: Example) -> str:
    """The ``instruction`` of a Hammer 1.0 test record."""
    query = example.query if _plain_query(example) else _turn_lines(example)
    return (
        f"[BEGIN OF TASK INSTRUCTION]\n{TASK}\n[END OF TASK INSTRUCTION]\n\n"
        f"[BEGIN OF AVAILABLE TOOLS]\n{tools_10(example)}\n[END OF AVAILABLE TOOLS]\n\n"
        f"[BEGIN OF FORMAT INSTRUCTION]\n{FORMAT}\n[END OF FORMAT INSTRUCTION]\n\n"
        f"[BEGIN OF QUERY]\n{query}\n[END OF QUERY]\n\n"
    )


# --- Hammer 2.1 test prompts -------------------------------------------------------------------


def _chatml_turns(example: Example) -> str:
    if _plain_query(example):
        return f"<|im_start|>user\n{example.query}<|im_end|>\n"
    messages, roles = example.messages, _roles(example)
    texts = [message_text(m, fenced=True) for m in messages]
    texts[-1] = texts[-1].removesuffix(GENERATE)
    return "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in zip(roles, texts, strict=True))


def _instruction_21(example: Example) -> str:
    tools = _json(source_tools(example), ascii_=True)
    return (
        f"[BEGIN OF TASK INSTRUCTION]\n{TASK}\n\n{ROLES}\n\n[END OF TASK INSTRUCTION]\n\n"
        f"[BEGIN OF AVAILABLE TOOLS]\n{tools}\n[END OF AVAILABLE TOOLS]\n\n"
        f"[BEGIN OF FORMAT INSTRUCTION]\n\n{FORMAT}\n\n[END OF FORMAT INSTRUCTION]\n\n"
    )


def test_prompt_21(example: Example) -> str:
    """The ``instruction`` of a Hammer 2.1 test record: the instruction turn, then the turns."""
    return f"<|im_start|>user\n{_instruction_21(example)}<|im_end|>\n{_chatml_turns(example)}"


# --- what a model is sent ----------------------------------------------------------------------


def chat_messages(example: Example, template: str) -> list[dict[str, str]]:
    """The same prompt as role/content messages, for a server that applies a ChatML chat template
    (a Qwen2.5 server then renders exactly :func:`qwen_wrap` / :func:`qwen_hammer_wrap` of the
    prompt). API-Bank's ``agent`` turns are sent as ``assistant``: servers know no other role."""
    system = {"role": "system", "content": "You are a helpful assistant."}
    if template != "authors-2.1":
        prompt = sft_prompt(example) if template == "authors-sft" else test_prompt_10(example)
        return [system, {"role": "user", "content": prompt}]
    messages = [system, {"role": "user", "content": _instruction_21(example)}]
    if _plain_query(example):
        return [*messages, {"role": "user", "content": example.query}]
    texts = [message_text(m, fenced=True) for m in example.messages]
    texts[-1] = texts[-1].removesuffix(GENERATE)
    roles = ["assistant" if role == "agent" else role for role in _roles(example)]
    return messages + [{"role": r, "content": t} for r, t in zip(roles, texts, strict=True)]


def qwen_wrap(instruction: str) -> str:
    """LLaMA-Factory's ``qwen`` template around one user turn (training and 1.0 testing)."""
    return f"{SYSTEM}<|im_start|>user\n{instruction}{END}\n<|im_start|>assistant\n"


def qwen_hammer_wrap(instruction: str) -> str:
    """The authors' ``qwen_hammer`` template: the 2.1 instruction already holds its user turns."""
    return f"{SYSTEM}{instruction}<|im_start|>assistant\n"


__all__ = [
    "END",
    "chat_messages",
    "completion",
    "qwen_hammer_wrap",
    "qwen_wrap",
    "sft_prompt",
    "source_tools",
    "test_prompt_10",
    "test_prompt_21",
]
