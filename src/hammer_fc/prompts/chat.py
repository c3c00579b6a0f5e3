"""The Hammer 2.x chat rendering, byte-identical to BFCL's Hammer handler.

Released Hammer 2.x checkpoints were evaluated on the leaderboard through
``bfcl_eval/model_handler/local_inference/hammer.py``: a fixed system prompt, one user turn holding
the task instruction, the tools and the format instruction, then the conversation as ordinary
ChatML turns (system turns turned into user turns). We reproduce its text exactly, quirks included
(nested object parameters replaced by their property map, ``default is '...'`` glued to the
description, ``json.dumps`` default settings), because that is what those checkpoints expect.
Tools are rendered from the Example's :class:`Tool` objects through the BFCL dialect writer, which
keeps BFCL's key order, so masked or renamed tools render the way the handler would render them.
"""

from __future__ import annotations

import json
from typing import Any

from hammer_fc.prompts.training import FORMAT_INSTRUCTION, TASK_INSTRUCTION, message_text
from hammer_fc.schema import Example, Tool
from hammer_fc.schema.params import tool_to_function

SYSTEM_PROMPT = "You are a helpful assistant."


def hammer_format_tool(function: dict[str, Any]) -> dict[str, Any]:
    """The handler's ``convert_to_format_tool`` on one BFCL function doc, without mutating it.

    Its quirks are kept on purpose: an object parameter with ``properties`` becomes that property
    map (its own type and description dropped, nested required ones marked), ``"required": True``
    is then set on each required top-level entry (even a flattened map), and a default is appended
    to the description with no separator.
    """
    parameters = {**function["parameters"].get("properties", {})}
    for name, spec in parameters.items():
        if "properties" in spec and isinstance(spec["properties"], dict):
            flat = {**spec["properties"]}
            for nested in spec.get("required", []):
                flat[nested] = {**flat[nested], "required": True}
            parameters[name] = flat
    for name in function["parameters"].get("required", []):
        parameters[name] = {**parameters[name], "required": True}
    for name, spec in parameters.items():
        description = spec.get("description")
        if "default" in spec and isinstance(description, str):
            parameters[name] = {**spec, "description": description + f"default is '{spec['default']}'"}
    return {"name": function["name"], "description": function["description"], "parameters": parameters}


def user_content(tools: list[Tool]) -> str:
    """The first user turn: task instruction, tools, format instruction."""
    functions = [hammer_format_tool(tool_to_function(tool, "bfcl")) for tool in tools]
    return (
        f"[BEGIN OF TASK INSTRUCTION]\n{TASK_INSTRUCTION}\n[END OF TASK INSTRUCTION]\n\n"
        f"[BEGIN OF AVAILABLE TOOLS]\n{json.dumps(functions)}\n[END OF AVAILABLE TOOLS]\n\n"
        f"[BEGIN OF FORMAT INSTRUCTION]\n{FORMAT_INSTRUCTION}\n[END OF FORMAT INSTRUCTION]\n\n"
    )


def chat_messages(example: Example) -> list[dict[str, str]]:
    """The same prompt as role/content messages, for servers that apply the chat template.

    With a ChatML template (Qwen2.5, Hammer 2.x) these render to exactly :func:`render_chat`.
    """
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_content(example.tools)},
    ]
    for message in example.messages:
        role = "user" if message.role == "system" else message.role  # Hammer takes no system turns
        messages.append({"role": role, "content": message_text(message, fenced=True)})
    return messages


def render_chat(example: Example) -> str:
    """The full ChatML text the handler sends, ending with the open assistant turn."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat_messages(example))
    return turns + "<|im_start|>assistant\n"
