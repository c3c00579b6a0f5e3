"""transformers backend: batched greedy generation, left padding, LoRA adapters applied.

Prompts of similar length are batched together (sorted by token count) so that little compute
goes to padding; answers come back in the caller's order.
"""

from __future__ import annotations

from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import ContextOverflow
from hammer_fc.model_spec import ModelSpec, load_hf
from hammer_fc.prompts.chat_format import ChatFormat, render_case
from hammer_fc.schema import Example


class TransformersBackend:
    """A Hugging Face causal LM (hub id, directory or GGUF via transformers, plus an adapter)."""

    name = "hf"
    grammar = False
    options = frozenset({"batch_size", "n_threads"})

    def __init__(
        self,
        spec: ModelSpec,
        *,
        batch_size: int = 8,
        n_threads: int | None = None,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        """Load ``spec`` with :func:`~hammer_fc.model_spec.load_hf`, or use a loaded ``model`` and
        ``tokenizer`` (a trainer evaluating its own model, a test's shared one).

        ``n_threads`` sets torch's (process-wide) CPU thread count until :meth:`close`: on a
        shared machine, fewer threads than cores avoid spinning against other processes.
        """
        import torch

        self._threads_before = torch.get_num_threads()
        if n_threads is not None:
            torch.set_num_threads(n_threads)
        if model is None or tokenizer is None:
            model, tokenizer = load_hf(spec)
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.chat = ChatFormat.from_tokenizer(tokenizer)
        self.eos_ids = _eos_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        self.max_length = getattr(model.config, "max_position_embeddings", None)

    def format(self, example: Example, template: str) -> str:
        return render_case(example, template, self.chat)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        if grammar is not None:
            raise HammerError(
                "constrained decoding needs the llama.cpp backend (--backend llamacpp)", field="grammar"
            )
        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        for index, ids in enumerate(encoded):
            if not ids or (self.max_length is not None and len(ids) >= self.max_length):
                raise ContextOverflow(
                    f"the prompt is {len(ids)} tokens, the model's context is {self.max_length}", index=index
                )
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        outputs: list[str] = [""] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            texts = self._generate_batch([encoded[i] for i in chunk], max_new_tokens)
            for i, text in zip(chunk, texts, strict=True):
                outputs[i] = text
        return outputs

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int) -> list[str]:
        import torch

        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):  # left padding: every prompt ends where generation starts
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        if self.max_length is not None:
            max_new_tokens = max(1, min(max_new_tokens, self.max_length - width))
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            generated = self.model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=self.eos_ids,
                pad_token_id=self.pad_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )
        new = generated[:, width:].tolist()
        texts = []
        for ids in new:
            end = next((i for i, t in enumerate(ids) if t in self.eos_ids), len(ids))
            texts.append(self.tokenizer.decode(ids[:end], skip_special_tokens=True))
        return texts

    def close(self) -> None:
        import torch

        torch.set_num_threads(self._threads_before)
        self.model = None


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends a turn: the tokenizer's EOS and the generation config's."""
    ids = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    for token in [tokenizer.eos_token_id, *(configured if isinstance(configured, list) else [configured])]:
        if token is not None and token not in ids:
            ids.append(token)
    if not ids:
        raise HammerError("the model defines no end-of-sequence token", field="model")
    return ids
