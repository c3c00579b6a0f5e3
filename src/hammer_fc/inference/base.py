"""The one interface every inference backend offers (choosing one for a model spec: :mod:`.load`).

A backend turns an :class:`~hammer_fc.schema.Example` into the request it sends (:meth:`format`:
prompt text for local models, a chat request for an OpenAI-compatible server) and generates
greedily from a batch of those (:meth:`generate`). Evaluation and serving only ever see this
protocol, so a new backend is one module that implements it.

What a backend supports is declared on it (:attr:`Backend.grammar`, :attr:`Backend.options`),
and streaming is a capability, not a backend name: a backend that can hand out its answer token by
token (and stop when its consumer stops asking) also implements :class:`StreamingBackend`, and
the server checks for that protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from hammer_fc.errors import HammerError
from hammer_fc.schema import Example

DEFAULT_MAX_NEW_TOKENS = 256


class ContextOverflow(HammerError):
    """A prompt does not fit the model's context; ``index`` is its place in the batch."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message, field="prompt")
        self.index = index


@dataclass(frozen=True)
class Piece:
    """One step of a streamed answer: the text it added and where the answer stands."""

    text: str
    """New text, whole characters only (a character split over tokens waits for its last byte)."""
    tokens: int
    """Tokens generated so far."""
    finish_reason: str | None = None
    """Set on the last piece: ``"stop"`` (end of turn or the grammar is complete) or
    ``"length"`` (``max_new_tokens`` reached)."""


@runtime_checkable
class Backend(Protocol):
    """Greedy text generation behind one small interface."""

    name: str
    grammar: ClassVar[bool]
    """Whether :meth:`generate` honours a GBNF ``grammar`` (constrained decoding)."""
    options: ClassVar[frozenset[str]]
    """The tuning options its constructor takes (``batch_size``, ``n_threads``, ...): callers pass
    a user's option only to a backend that declares it, instead of knowing backends by name."""
    batch_size: int
    """How many prompts one :meth:`generate` call handles well (the runner's chunk size)."""

    def format(self, example: Example, template: str) -> str:
        """What this backend generates from for ``example`` under prompt template ``template``."""
        ...

    def generate(self, prompts: list[str], *, max_new_tokens: int, grammar: str | None = None) -> list[str]:
        """Greedy continuations of ``prompts`` (same order), each at most ``max_new_tokens`` long;
        ``grammar`` (GBNF) constrains the output where the backend supports it."""
        ...

    def close(self) -> None:
        """Free the model (llama.cpp contexts must be closed before interpreter shutdown)."""
        ...


@runtime_checkable
class StreamingBackend(Backend, Protocol):
    """A backend that streams one answer as it decodes it."""

    def stream(self, prompt: str, *, max_new_tokens: int, grammar: str | None = None) -> Iterator[Piece]:
        """Greedy continuation of ``prompt`` piece by piece, the last with its finish reason.

        Decoding happens while the consumer iterates: closing the generator (or just no longer
        asking) stops the model within a token. The pieces' texts joined are what
        :meth:`Backend.generate` returns. A prompt that does not fit raises
        :class:`ContextOverflow` on the first ``next``."""
        ...
