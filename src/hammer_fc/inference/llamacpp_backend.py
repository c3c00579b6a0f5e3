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

import codecs
import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import ContextOverflow, Piece, sequence_probability
from hammer_fc.model_spec import ModelSpec
from hammer_fc.prompts.chat_format import ChatFormat, render_case
from hammer_fc.schema import Example

DEFAULT_N_CTX = 8192
_MAX_FORCED_BYTES = 256
"""Longest forced text fed in one batch (a long function name is well under it)."""


@dataclass
class PrefixStats:
    """Prompt tokens seen and how many of them came from the KV cache."""

    prompts: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    jumped_tokens: int = 0
    """Generated tokens that came from a jump-forward batch rather than a decode step each."""

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
    grammar = True
    options = frozenset({"n_ctx", "n_threads", "n_batch", "reuse_prefix", "jump_forward"})
    batch_size = 1

    def __init__(
        self,
        spec: ModelSpec,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        reuse_prefix: bool = True,
        jump_forward: bool = True,
        llama: Any = None,
    ) -> None:
        """Open ``spec.gguf_path`` (or wrap an already open ``llama``, e.g. a test's shared one).

        ``n_ctx`` defaults to the model's training context capped at :data:`DEFAULT_N_CTX`;
        ``n_threads`` to llama.cpp's choice (on a busy machine fewer threads decode faster).
        ``jump_forward`` feeds text a grammar forces as one batch (see :meth:`_decode`).
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
        self.jump_forward = jump_forward
        self.stats = PrefixStats()
        self._buffer = (ctypes.c_char * 64)()
        self._probe: BytePieces | None = None

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
            pieces = self._stream(prompt, max_new_tokens, grammar, index)
            outputs.append("".join(piece.text for piece in pieces))
        return outputs

    def stream(self, prompt: str, *, max_new_tokens: int, grammar: str | None = None) -> Iterator[Piece]:
        return self._stream(prompt, max_new_tokens, grammar, 0)

    def _stream(self, prompt: str, max_new_tokens: int, grammar: str | None, index: int) -> Iterator[Piece]:
        """Check that the prompt fits (raising now, not on the first ``next``), then decode."""
        tokens = self.tokenize(prompt)
        room = self.n_ctx - len(tokens)
        if room < 1 or not tokens:
            raise ContextOverflow(
                f"the prompt is {len(tokens)} tokens, the context holds {self.n_ctx}", index=index
            )
        return self._decode(tokens, min(max_new_tokens, room), grammar)

    def _decode(self, tokens: list[int], max_new_tokens: int, grammar: str | None) -> Iterator[Piece]:
        """The decode loop; one :class:`Piece` per generated token, then the finish reason.

        Text leaves through an incremental UTF-8 decoder, so a character whose bytes span
        tokens is sent once whole, and a cut (token limit, closed stream) inside one drops
        its first bytes instead of leaving U+FFFD at the end.

        With jump-forward on, wherever the grammar leaves only one way to continue, the forced
        text's tokens are evaluated in one batch with the token just chosen, and each is kept
        only while it is the token constrained greedy decoding picks from the batch's logits
        at that place: the model sees exactly the tokens it would have chosen, and at the first
        disagreement the rest of the batch is dropped from the KV cache.
        """
        llm = self.llm
        self._prefill(tokens)
        constraint = self._grammar(grammar) if grammar is not None else None
        jump = self.jump_forward and constraint is not None
        text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        count, finish = 0, "length"
        try:
            logits = self._logits(-1)
            while count < max_new_tokens:
                token = int(np.argmax(logits)) if constraint is None else constraint.best(logits)
                if self._lib.llama_vocab_is_eog(self.vocab, token):
                    finish = "stop"
                    break
                if constraint is not None:
                    constraint.accept(token)
                count += 1
                yield Piece(text.decode(self._piece(token)), count)
                if count >= max_new_tokens:
                    break
                draft, complete = self._draft(constraint, max_new_tokens - count) if jump else ([], False)
                if not draft:
                    if complete:
                        finish = "stop"  # only end-of-generation is left: no need to ask the model
                        break
                    llm.eval([token])
                    logits = self._logits(-1)
                    continue
                rows = self._eval_rows([token, *draft])
                taken = 0
                while taken < len(draft) and constraint.best(rows[taken]) == draft[taken]:
                    constraint.accept(draft[taken])
                    count += 1
                    self.stats.jumped_tokens += 1
                    yield Piece(text.decode(self._piece(draft[taken])), count)
                    taken += 1
                if taken == len(draft) and complete:
                    finish = "stop"
                    break
                llm.n_tokens -= len(draft) - taken  # the next eval drops the unused cells
                logits = rows[taken]
            yield Piece("", count, finish)
        finally:
            if constraint is not None:
                constraint.close()
            self.stats.generated_tokens += count

    def answer_probabilities(self, prompts: list[str], answer: str) -> list[float]:
        """Teacher-forced probability of ``answer`` after each prompt (:class:`ScoringBackend`).

        The prompt is prefilled as for decoding and the answer's tokens but the last are
        evaluated in one batch behind it; the KV cache then holds the prompt, so a decode of the
        same prompt that follows re-evaluates only its last token (with prefix reuse on)."""
        answer_tokens = self.tokenize(answer)
        if not answer_tokens:
            raise HammerError("the answer to score is empty", field="answer")
        out = []
        for index, prompt in enumerate(prompts):
            tokens = self.tokenize(prompt)
            if not tokens or len(tokens) + len(answer_tokens) > self.n_ctx:
                raise ContextOverflow(
                    f"the prompt is {len(tokens)} tokens and the answer {len(answer_tokens)}, "
                    f"the context holds {self.n_ctx}",
                    index=index,
                )
            self._prefill(tokens, count=False)
            rows = [self._logits(-1).copy()]
            if len(answer_tokens) > 1:
                rows.extend(self._eval_rows(answer_tokens[:-1]))
            out.append(sequence_probability(np.stack(rows), answer_tokens))
        return out

    def _prefill(self, tokens: list[int], *, count: bool = True) -> None:
        """Evaluate the prompt, keeping the KV cells of the prefix it shares with the last one
        (``count``: in :attr:`stats`; scoring a prompt before decoding it is not a second prompt)."""
        llm = self.llm
        keep = 0
        if self.reuse_prefix:
            # At least the last prompt token is evaluated again: its logits start the answer.
            keep = min(common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens), len(tokens) - 1)
        if keep:
            llm.n_tokens = keep  # Llama.eval drops every KV cell from n_tokens on before decoding
        else:
            llm.reset()
        llm.eval(tokens[keep:])
        if not count:
            return
        self.stats.prompts += 1
        self.stats.prompt_tokens += len(tokens)
        self.stats.reused_tokens += keep

    def _logits(self, index: int) -> Any:
        row = self._lib.llama_get_logits_ith(self.llm.ctx, index)
        return np.ctypeslib.as_array(row, shape=(self.n_vocab,))

    def _eval_rows(self, tokens: list[int]) -> Any:
        """Evaluate ``tokens`` in one batch and return the next-token logits after each of them
        (``Llama.eval`` keeps only the last row unless the whole context keeps all)."""
        llm = self.llm
        n_past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past : n_past + len(tokens)] = tokens
        llm.n_tokens = n_past + len(tokens)
        logits = self._lib.llama_get_logits(llm.ctx)
        return np.ctypeslib.as_array(logits, shape=(len(tokens), self.n_vocab)).copy()

    def _draft(self, constraint: Any, room: int) -> tuple[list[int], bool]:
        """The tokens of the text the grammar forces next (at most ``room``), and whether the
        answer is complete after it."""
        if self._probe is None:
            self._probe = BytePieces.of(self)
        forced, complete = constraint.forced_bytes(self._probe, limit=_MAX_FORCED_BYTES)
        whole = _whole_characters(forced)
        complete = complete and whole == forced
        # The forced text ends where the model chooses again, so its last token may be one the
        # model merges with what follows (``name"`` is written ``name`` + ``":``). It stays in
        # the draft all the same: the check against the batch's logits drops it then, at the
        # cost of one row, and where it is the model's own token (`` `` before a number) it
        # saves a decode step.
        draft = self.llm.tokenize(whole, add_bos=False, special=False) if whole else []
        return draft[:room], complete and len(draft) <= room

    def _piece(self, token: int) -> bytes:
        """The bytes of one token (what ``Llama.detokenize`` joins)."""
        size = self._lib.llama_token_to_piece(self.vocab, token, self._buffer, len(self._buffer), 0, False)
        if size < 0:  # the buffer is too small: llama.cpp says how big it must be
            self._buffer = (ctypes.c_char * -size)()
            size = self._lib.llama_token_to_piece(self.vocab, token, self._buffer, -size, 0, False)
        return bytes(self._buffer[:size])

    def _grammar(self, grammar: str) -> Any:
        """A fresh grammar state for one answer."""
        from hammer_fc.inference.grammar import CompiledGrammar

        return CompiledGrammar(grammar, self.vocab)

    def close(self) -> None:
        self.llm.close()


@dataclass(frozen=True)
class BytePieces:
    """Tokens whose text is one byte (a byte-level vocabulary has all 256) and the end-of-text
    token: asking the grammar which of them may come next tells which bytes it allows."""

    tokens: list[int]
    values: bytes
    eos: int

    @classmethod
    def of(cls, backend: LlamaCppBackend) -> BytePieces:
        found: dict[int, int] = {}
        for token in range(backend.n_vocab):
            if backend._lib.llama_vocab_is_control(backend.vocab, token):
                continue
            piece = backend._piece(token)
            if len(piece) == 1:
                found.setdefault(piece[0], token)
        ordered = sorted(found.items())
        eos = backend._lib.llama_vocab_eos(backend.vocab)
        return cls([t for _, t in ordered], bytes(b for b, _ in ordered), eos)


def _whole_characters(data: bytes) -> bytes:
    """``data`` up to its last complete UTF-8 character."""
    end = len(data)
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:  # a lead byte: is its character complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            end = len(data) if back >= need else len(data) - back
            break
    return data[:end]


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
