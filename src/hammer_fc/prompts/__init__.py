"""Prompt templates (Example -> text), in ONE registry by name (:mod:`.registry`), the wrapping
in a model's chat template (:mod:`.chat_format`) and the parser (text -> calls, :mod:`.parser`).

This face holds the public pieces the stages above build from: training and data preparation
render with them, the backends wrap with them, evaluation and serving parse with them.
"""

from hammer_fc.prompts.chat import chat_messages, render_chat
from hammer_fc.prompts.chat_format import ChatFormat, render_case, wrap_prompt
from hammer_fc.prompts.parser import ParseError, parse_calls
from hammer_fc.prompts.registry import DEFAULT_TEMPLATE, TEMPLATES, Template, get_template
from hammer_fc.prompts.training import render_completion, render_prompt, tool_to_prompt_dict

__all__ = [
    "DEFAULT_TEMPLATE",
    "TEMPLATES",
    "ChatFormat",
    "ParseError",
    "Template",
    "chat_messages",
    "get_template",
    "parse_calls",
    "render_case",
    "render_chat",
    "render_completion",
    "render_prompt",
    "tool_to_prompt_dict",
    "wrap_prompt",
]
