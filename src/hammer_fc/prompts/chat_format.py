"""The exact text a local model sees for an example: one formatter for training and every backend.

Training (``train/``), the transformers and llama.cpp backends and the server all build prompts
here, so a model is evaluated on precisely the layout it was trained on. The model's own chat
template (jinja, from the Hugging Face tokenizer or from the GGUF key ``tokenizer.chat_template``)
is rendered by ``transformers``' renderer, the one ``apply_chat_template`` uses, so a GGUF run and
a transformers run of the same model produce the same string.

Templates (the registry of :mod:`hammer_fc.prompts.registry`): ``hammer`` is the
Hammer training prompt as the one user turn, wrapped in the model's chat template with the
generation prompt (our models and base models); the others carry their own wrapping
(``hammer-chat``: the full Hammer 2.x ChatML text of BFCL's handler; ``authors-*``: the
authors' LLaMA-Factory ``qwen`` / ``qwen_hammer`` text).

The result is tokenized *without* adding special tokens (as ``apply_chat_template`` does): a BOS
token the model wants is already in the text, put there by the chat template or, for text that
does not come from one, by :meth:`ChatFormat.with_bos`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.prompts.registry import get_template
from hammer_fc.schema import Example


@dataclass(frozen=True)
class ChatFormat:
    """A model's chat template and the special tokens it is rendered with."""

    template: str | None
    """The jinja chat template; ``None`` for a model without one (the text is used as is)."""
    special_tokens: dict[str, str] = field(default_factory=dict)
    """``bos_token``, ``eos_token``, ...: the variables ``apply_chat_template`` passes the template."""
    add_bos: bool = False
    """Whether the model's tokenizer puts a BOS token before plain text."""

    @property
    def bos_token(self) -> str | None:
        return self.special_tokens.get("bos_token")

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> ChatFormat:
        """From a Hugging Face tokenizer (``tokenizer.chat_template`` and its special tokens)."""
        template = tokenizer.chat_template
        if isinstance(template, dict):  # named templates: the default one formats chats
            template = template.get("default")
        special = {k: v for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
        ids = tokenizer("x", add_special_tokens=True)["input_ids"]
        add_bos = tokenizer.bos_token_id is not None and bool(ids) and ids[0] == tokenizer.bos_token_id
        return cls(template=template or None, special_tokens=special, add_bos=add_bos)

    @classmethod
    def from_llama(cls, llm: Any) -> ChatFormat:
        """From an open ``llama_cpp.Llama``: GGUF metadata and the vocabulary's special tokens."""
        ids = {"bos_token": llm.token_bos(), "eos_token": llm.token_eos()}
        for key, field_name in (("unk_token", "unknown"), ("pad_token", "padding")):
            if f"tokenizer.ggml.{field_name}_token_id" in llm.metadata:
                ids[key] = int(llm.metadata[f"tokenizer.ggml.{field_name}_token_id"])
        special = {
            key: llm.detokenize([token], special=True).decode("utf-8", errors="replace")
            for key, token in ids.items()
            if token >= 0
        }
        bos = llm.token_bos()
        add_bos = bos >= 0 and llm.tokenize(b"x", add_bos=True, special=False)[:1] == [bos]
        template = llm.metadata.get("tokenizer.chat_template")
        return cls(template=template or None, special_tokens=special, add_bos=add_bos)

    def wrap(self, user_text: str) -> str:
        """``user_text`` as the one user turn of a chat, ending with the open assistant turn."""
        if self.template is None:
            return self.with_bos(user_text)
        from transformers.utils.chat_template_utils import render_jinja_template

        try:
            rendered, _ = render_jinja_template(
                conversations=[[{"role": "user", "content": user_text}]],
                chat_template=self.template,
                add_generation_prompt=True,
                **self.special_tokens,
            )
        except Exception as err:  # jinja errors of a model's own template: say whose they are
            raise HammerError(f"the model's chat template failed: {err}", field="chat_template") from err
        return rendered[0]

    def with_bos(self, text: str) -> str:
        """``text`` with the BOS token in front when the model wants one and it is not there."""
        bos = self.bos_token
        if self.add_bos and bos and not text.startswith(bos):
            return bos + text
        return text


def render_case(example: Example, template: str, chat: ChatFormat) -> str:
    """The full prompt text of ``example`` under ``template`` for a model with ``chat``."""
    chosen = get_template(template)
    return wrap_prompt(chosen.prompt(example), template, chat)


def wrap_prompt(prompt: str, template: str, chat: ChatFormat) -> str:
    """A prompt of ``template`` as the model reads it: in the model's chat template, or in the
    template's own wrapping (with a BOS token in front if the model wants one)."""
    wrap = get_template(template).wrap
    return chat.wrap(prompt) if wrap is None else chat.with_bos(wrap(prompt))
