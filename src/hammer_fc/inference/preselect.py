"""Tool pre-selection: show a small model only the tools the conversation is about.

A request that offers many tools costs a long prefill and gives a 135M model more ways to pick
the wrong one. :func:`preselect` ranks the offered tools by BM25 relevance (``bm25s``, Lucene's
IDF, which stays positive on the two- or three-document "corpus" a request makes) to the
conversation and keeps the top ``max_tools``. The answer may then only call those: the server
and ``hammer eval run`` build the grammar from the kept tools.

A tool's text is its name split into words (``get_weather``, ``math.factorial``,
``getStockPrice``), its description, and its parameters' names and descriptions (nested ones
too); the name counts twice, being the most telling words a tool has. Words are lower-cased,
English stop words dropped and the rest stemmed (Snowball). The query is the conversation:
the last user turn weighs most, earlier user turns half, any other turn (system, assistant,
tool results) a quarter.

The kept tools stay in the order the request listed them (the model sees the client's list,
only shorter); ties in score go to the earlier tool, so the same request always keeps the same
tools. A named ``tool_choice`` keeps its tool whatever its rank.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from hammer_fc.errors import HammerError
from hammer_fc.schema import Example, Message, Param, Tool

DEFAULT_MAX_TOOLS = 5
"""What ``hammer serve`` shows the embedded 135M models when a request offers more tools.
Chosen on recall (``benchmarks/tool_preselection.py``; README, "Tool pre-selection"): the top
5 hold every gold tool of 99.9-100% of BFCL ``multiple``, ``live_multiple`` and
``parallel_multiple`` cases, while the top 3 lose 9.5% of ``parallel_multiple``, whose answers
often call four tools."""

LAST_USER_WEIGHT = 1.0
USER_WEIGHT = 0.5
OTHER_WEIGHT = 0.25
NAME_REPEATS = 2

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """``text`` as retrieval terms: camelCase and ``_ . -`` split, lower-cased, stop words out, stemmed."""
    found = [w for w in _WORD.findall(_CAMEL.sub(" ", text).lower()) if w not in _STOPWORDS]
    return _stemmer().stemWords(found)


def _param_text(params: Iterable[Param]) -> Iterable[str]:
    for param in params:
        yield param.name
        yield param.description
        if param.items is not None:
            yield from _param_text([param.items])
        yield from _param_text(param.properties)


def tool_terms(tool: Tool) -> list[str]:
    """The terms a tool is found by: its name (twice), description, parameter names and descriptions."""
    name = words(tool.name)
    return name * NAME_REPEATS + words(tool.description) + words(" ".join(_param_text(tool.params)))


def query_terms(messages: Sequence[Message]) -> list[tuple[float, list[str]]]:
    """(weight, terms) per conversation turn that has text."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    parts = []
    for i, message in enumerate(messages):
        terms = words(message.content or "")
        if not terms:
            continue
        if i == last_user:
            weight = LAST_USER_WEIGHT
        elif message.role == "user":
            weight = USER_WEIGHT
        else:
            weight = OTHER_WEIGHT
        parts.append((weight, terms))
    return parts


def scores(tools: Sequence[Tool], messages: Sequence[Message]) -> np.ndarray:
    """The BM25 relevance of each tool to the conversation (0 where nothing matches)."""
    index = bm25s.BM25(method="lucene")
    # An empty tool text would make an empty document, which bm25s cannot index: one term
    # no query can contain keeps it in place.
    index.index([tool_terms(t) or ["\x00"] for t in tools], show_progress=False)
    total = np.zeros(len(tools))
    for weight, terms in query_terms(messages):
        total += weight * index.get_scores(terms)
    return total


def rank(tools: Sequence[Tool], messages: Sequence[Message]) -> list[int]:
    """Indices of ``tools``, most relevant first; equal scores keep the request's order."""
    if not tools:
        return []
    relevance = scores(tools, messages)
    return sorted(range(len(tools)), key=lambda i: (-relevance[i], i))


def check_max_tools(max_tools: int | None, *, field: str = "max_tools") -> int | None:
    """``None`` or ``0`` (off) as ``None``; a negative count is a :class:`HammerError`."""
    if max_tools is not None and (isinstance(max_tools, bool) or not isinstance(max_tools, int)):
        raise HammerError(f"max_tools must be a whole number, got {max_tools!r}", field=field)
    if max_tools is not None and max_tools < 0:
        raise HammerError(f"max_tools must be 0 (off) or more, got {max_tools}", field=field)
    return max_tools or None


def preselect(
    tools: Sequence[Tool], messages: Sequence[Message], max_tools: int | None, *, keep: str | None = None
) -> list[Tool]:
    """The ``max_tools`` most relevant ``tools`` in the request's order (all of them when there
    are no more than that, or ``max_tools`` is ``None``); the tool named ``keep`` (a named
    ``tool_choice``) is always among them, in place of the least relevant otherwise kept."""
    max_tools = check_max_tools(max_tools)
    if max_tools is None or len(tools) <= max_tools:
        return list(tools)
    ranked = rank(tools, messages)
    chosen = ranked[:max_tools]
    pinned = next((i for i, t in enumerate(tools) if t.name == keep), None)
    if pinned is not None and pinned not in chosen:
        chosen[-1] = pinned
    return [tools[i] for i in sorted(chosen)]


def preselect_example(example: Example, max_tools: int | None, *, keep: str | None = None) -> Example:
    """``example`` with its tools pre-selected (the same object when nothing is cut)."""
    kept = preselect(example.tools, example.messages, max_tools, keep=keep)
    if len(kept) == len(example.tools):
        return example
    return dataclasses.replace(example, tools=kept)
