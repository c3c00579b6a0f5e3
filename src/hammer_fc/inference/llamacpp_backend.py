"""llama.cpp backend (``llama-cpp-python``): greedy decoding that reuses the KV cache of the
prompt prefix shared with the previous prompt.

Every Hammer prompt starts with the same task instruction (and the chat template's system turn),
a few hundred tokens that do not need computing again for the next case. llama-cpp-python 0.3.36
already does a form of this inside ``Llama.generate`` (with its default ``reset=True`` it matches
the new tokens against ``input_ids[:n_tokens]`` and drops the KV cells past the match), but
implicitly and always. We drive the context ourselves so that reuse is explicit, switchable
(``reuse_prefix``, what the throughput benchmark compares) and counted (:attr:`stats`):
``n_tokens`` is set to the length of the shared prefix and ``Llama.eval`` removes every KV cell
from there on before it evaluates the rest. Recurrent and hybrid models keep no per-token KV
cells to cut, so reuse is off for them.

Greedy is the argmax of the last logits, which is what llama.cpp's greedy sampler picks.
Constrained decoding steps a :class:`~hammer_fc.inference.grammar.CompiledGrammar` next to it:
only when the favourite token is not allowed does the whole vocabulary get masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import ContextOverflow
from hammer_fc.inference.chat_format import ChatFormat, render_case
from hammer_fc.models import ModelSpec
from hammer_fc.schema import Example

DEFAULT_N_CTX = 8192


@dataclass
class PrefixStats:
    """Prompt tokens seen and how many of them came from the KV cache."""

    prompts: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0

    @property
    def reuse_share(self) -> float:
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class LlamaCppBackend:
    """A GGUF model in llama.cpp, one prompt at a time, prefix KV reuse between prompts."""

    name = "llamacpp"
    batch_size = 1

    def __init__(
        self,
        spec: ModelSpec,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        reuse_prefix: bool = True,
        llama: Any = None,
    ) -> None:
        """Open ``spec.gguf_path`` (or wrap an already open ``llama``, e.g. a test's shared one).

        ``n_ctx`` defaults to the model's training context capped at :data:`DEFAULT_N_CTX`;
        ``n_threads`` to llama.cpp's choice (on a busy machine fewer threads decode faster).
        """
        if spec.adapter is not None:
            raise HammerError(
                "the llama.cpp backend runs GGUF files without an adapter: merge it with "
                "`hammer export`, or use --backend hf",
                field="backend",
            )
        if llama is None:
            llama = _open(spec, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch)
        import llama_cpp

        self._lib = llama_cpp
        self.llm = llama
        self.chat = ChatFormat.from_llama(llama)
        self.vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        recurrent = llama_cpp.llama_model_is_recurrent(llama.model) or llama_cpp.llama_model_is_hybrid(
            llama.model
        )
        self.reuse_prefix = reuse_prefix and not recurrent
        self.stats = PrefixStats()

    def format(self, example: Example, template: str) -> str:
        return render_case(example, template, self.chat)

    def tokenize(self, text: str) -> list[int]:
        """Prompt text -> tokens; special tokens in the text are parsed, none are added."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        outputs = []
        for index, prompt in enumerate(prompts):
            tokens = self.tokenize(prompt)
            room = self.n_ctx - len(tokens)
            if room < 1 or not tokens:
                raise ContextOverflow(
                    f"the prompt is {len(tokens)} tokens, the context holds {self.n_ctx}", index=index
                )
            outputs.append(self._complete(tokens, min(max_new_tokens, room), grammar))
        return outputs

    def _complete(self, tokens: list[int], max_new_tokens: int, grammar: str | None) -> str:
        import numpy as np

        llm, lib = self.llm, self._lib
        keep = 0
        if self.reuse_prefix:
            # At least the last prompt token is evaluated again: its logits start the answer.
            keep = min(common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens), len(tokens) - 1)
        if keep:
            llm.n_tokens = keep  # Llama.eval drops every KV cell from n_tokens on before decoding
        else:
            llm.reset()
        llm.eval(tokens[keep:])
        self.stats.prompts += 1
        self.stats.prompt_tokens += len(tokens)
        self.stats.reused_tokens += keep
        constraint = self._grammar(grammar) if grammar is not None else None
        out: list[int] = []
        try:
            for _ in range(max_new_tokens):
                logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(llm.ctx, -1), shape=(self.n_vocab,))
                token = int(np.argmax(logits)) if constraint is None else constraint.best(logits)
                if lib.llama_vocab_is_eog(self.vocab, token):
                    break
                if constraint is not None:
                    constraint.accept(token)
                out.append(token)
                if len(out) < max_new_tokens:
                    llm.eval([token])
        finally:
            if constraint is not None:
                constraint.close()
        self.stats.generated_tokens += len(out)
        return llm.detokenize(out).decode("utf-8", errors="replace")

    def _grammar(self, grammar: str) -> Any:
        """A fresh grammar state for one answer."""
        from hammer_fc.inference.grammar import CompiledGrammar

        return CompiledGrammar(grammar, self.vocab)

    def close(self) -> None:
        self.llm.close()


def _open(spec: ModelSpec, *, n_ctx: int | None, n_threads: int | None, n_batch: int) -> Any:
    from hammer_fc.inference.llamacpp_cpu import open_llama

    path = spec.gguf_path
    if path is None:
        raise HammerError(f"{spec.label} is not a GGUF model: use --backend hf", field="backend")
    if not path.is_file():
        raise HammerError(f"no such GGUF file: {path}", field="model")
    if n_ctx is None:
        trained = _trained_context(path)
        n_ctx = min(trained, DEFAULT_N_CTX) if trained else DEFAULT_N_CTX
    try:
        return open_llama(
            path,
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )
    except ValueError as err:
        raise HammerError(f"llama.cpp cannot load {path}: {err}", field="model") from err


def _trained_context(path: Any) -> int | None:
    """The model's ``<arch>.context_length`` from the GGUF header (read without loading weights)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    arch = reader.fields.get("general.architecture")
    if arch is None:
        return None
    field = reader.fields.get(f"{bytes(arch.parts[-1]).decode()}.context_length")
    return int(field.parts[-1][0]) if field is not None else None
