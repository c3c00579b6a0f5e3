"""Prompt templates (Example -> text) and the parser (text -> calls), picked by name.

``hammer``: the Hammer training prompt as one raw user turn; the backend applies the model's chat
template (what models trained here expect). ``hammer-chat``: the full Hammer 2.x ChatML text of
BFCL's handler (what released Hammer 2.x checkpoints expect), sent as a raw completion prompt.
"""

from __future__ import annotations

from collections.abc import Callable

from hammer_fc.errors import HammerError
from hammer_fc.prompts.chat import chat_messages, render_chat
from hammer_fc.prompts.parser import ParseError, parse_calls
from hammer_fc.prompts.training import render_completion, render_prompt, tool_to_prompt_dict
from hammer_fc.schema import Example

TEMPLATES: dict[str, Callable[[Example], str]] = {
    "hammer": render_prompt,
    "hammer-chat": render_chat,
}


def render(template: str, example: Example) -> str:
    """Render ``example`` with the template called ``template``."""
    try:
        fn = TEMPLATES[template]
    except KeyError:
        raise HammerError(
            f"unknown prompt template {template!r} (choose from {', '.join(TEMPLATES)})", field="template"
        ) from None
    return fn(example)


__all__ = [
    "TEMPLATES",
    "ParseError",
    "chat_messages",
    "parse_calls",
    "render",
    "render_chat",
    "render_completion",
    "render_prompt",
    "tool_to_prompt_dict",
]
