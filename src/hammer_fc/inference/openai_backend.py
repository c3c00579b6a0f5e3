"""OpenAI-compatible server backend (vLLM, llama-server, ``hammer serve``) through the official
``openai`` client.

A case goes out as what an application would send. With the ``hammer`` template: the
conversation as chat messages plus the candidate tools in OpenAI's ``tools`` format (the server
applies its own prompt and tool parser). With ``hammer-chat``: the Hammer 2.x messages of BFCL's
handler with the tools written into the first user turn, for servers that only apply a chat
template. With ``authors-*``: the Hammer authors' prompt as a system and a user turn (2.1: and its
conversation turns), which a ChatML server renders as their LLaMA-Factory templates. The answer's
``tool_calls`` are written back as a Hammer answer (a fenced JSON list, which the parser reads like
any model output); without ``tool_calls``, the text content is the output.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.openai import openai_record
from hammer_fc.prompts import chat_messages, get_template, render_completion
from hammer_fc.schema import Example, ToolCall


class OpenAIBackend:
    """Chat completions against ``spec.base_url`` for model ``spec.source``, temperature 0."""

    name = "openai"
    grammar = False
    options = frozenset({"batch_size", "api_key", "timeout"})

    def __init__(
        self, spec: Any, *, batch_size: int = 8, api_key: str | None = None, timeout: float = 600.0
    ) -> None:
        from openai import OpenAI

        if spec.kind != "openai" or not spec.base_url:
            raise HammerError(f"{spec.label} is not an openai:<model>@<base_url> spec", field="model")
        self.model = spec.source
        self.batch_size = batch_size
        # Local servers need no key, but the client insists on one.
        key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
        self.client = OpenAI(base_url=spec.base_url, api_key=key, timeout=timeout, max_retries=1)

    def format(self, example: Example, template: str) -> str:
        """The request body (messages and tools) as JSON text."""
        get_template(template)  # the registry's one "unknown prompt template" error
        if template == "hammer":
            record = openai_record(dataclasses.replace(example, calls=None))
            request = {"messages": record["messages"], "tools": record["tools"]}
        elif template == "hammer-chat":
            request = {"messages": chat_messages(example), "tools": []}
        elif template.startswith("authors-"):
            from hammer_fc.prompts import authors

            request = {"messages": authors.chat_messages(example, template), "tools": []}
        else:
            raise HammerError(
                f"template {template!r} has no chat form for an OpenAI server", field="template"
            )
        return json.dumps(request, ensure_ascii=False)

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        if grammar is not None:
            raise HammerError("a grammar cannot be sent to an OpenAI-compatible server", field="grammar")
        return [self._ask(json.loads(prompt), max_new_tokens) for prompt in prompts]

    def _ask(self, request: dict[str, Any], max_new_tokens: int) -> str:
        import openai

        options: dict[str, Any] = {"tools": request["tools"]} if request["tools"] else {}
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=request["messages"],
                temperature=0.0,
                max_tokens=max_new_tokens,
                **options,
            )
        except openai.APIConnectionError as err:
            raise HammerError(f"cannot reach {self.client.base_url}: {err}", field="model") from err
        except openai.APIStatusError as err:
            raise HammerError(
                f"{self.client.base_url} answered {err.status_code}: {err.message}", field="model"
            ) from err
        message = response.choices[0].message
        if message.tool_calls:
            return answer_text(message.tool_calls)
        return message.content or ""

    def close(self) -> None:
        self.client.close()


def answer_text(tool_calls: list[Any]) -> str:
    """OpenAI ``tool_calls`` as the Hammer answer text; arguments that are not a JSON object are
    kept as the server sent them (OpenAI's own shape), so the parser, not this, judges them."""
    calls = []
    for tool_call in tool_calls:
        try:
            arguments = json.loads(tool_call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            raw = [
                {"function": {"name": c.function.name, "arguments": c.function.arguments}} for c in tool_calls
            ]
            return "```\n" + json.dumps(raw, ensure_ascii=False) + "\n```"
        calls.append(ToolCall(tool_call.function.name, arguments))
    return render_completion(calls)
