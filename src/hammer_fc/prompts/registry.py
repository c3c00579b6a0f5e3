"""The one registry of prompt templates by name and its one "unknown prompt template" error.

Training, data preparation, conversion, evaluation and serving all pick a template here:

- ``hammer``: the Hammer training prompt as one raw user turn; the backend applies the model's
  chat template (what models trained here expect);
- ``hammer-chat``: the full Hammer 2.x ChatML text of BFCL's handler (released Hammer 2.x
  checkpoints), sent as a raw completion prompt;
- ``authors-sft``, ``authors-1.0``, ``authors-2.1``: the Hammer authors' SFT rows and their
  Hammer 1.0 / 2.1 test prompts byte for byte (:mod:`hammer_fc.prompts.authors`), sent inside
  LLaMA-Factory's ``qwen`` / ``qwen_hammer`` templates as the authors did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hammer_fc.errors import HammerError
from hammer_fc.prompts import authors
from hammer_fc.prompts.chat import render_chat
from hammer_fc.prompts.training import render_completion, render_prompt
from hammer_fc.schema import Example, ToolCall


@dataclass(frozen=True)
class Template:
    """One prompt template: the prompt and answer as data files hold them, and how a model is sent them."""

    name: str
    prompt: Callable[[Example], str]
    """The prompt text (an alpaca ``instruction``, a prepared ``prompt``)."""
    completion: Callable[[list[ToolCall]], str]
    """The answer the model learns to write."""
    wrap: Callable[[str], str] | None
    """The prompt -> the text the model reads; ``None``: the model's own chat template, as one user turn."""
    end: str | None = None
    """What closes a training target; ``None``: the tokenizer's end-of-sequence token."""


def _raw(text: str) -> str:
    return text


_QWEN, _QWEN_HAMMER = authors.qwen_wrap, authors.qwen_hammer_wrap
TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("hammer", render_prompt, render_completion, None),
        Template("hammer-chat", render_chat, render_completion, _raw),
        Template("authors-sft", authors.sft_prompt, authors.completion, _QWEN, authors.END),
        Template("authors-1.0", authors.test_prompt_10, authors.completion, _QWEN, authors.END),
        Template("authors-2.1", authors.test_prompt_21, authors.completion, _QWEN_HAMMER, authors.END),
    )
}
DEFAULT_TEMPLATE = "hammer"


def get_template(name: str) -> Template:
    """The template called ``name``, or a :class:`HammerError` listing the choices."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise HammerError(
            f"unknown prompt template {name!r} (choose from {', '.join(TEMPLATES)})", field="template"
        ) from None
