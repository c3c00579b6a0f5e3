"""Shortening: an example over the token cut-off keeps its gold tools and the distractors that fit.

BFCL live offers up to 37 tools per query; at a CPU recipe's cut-off of 768 tokens most of its
examples do not fit, and dropping them threw away two thirds of the data. The answer only needs
the tools it calls, and a model learns to choose only if some others stand beside them, so a
long example keeps every gold tool plus as many of its other tools (a seeded random choice) as
still fit, in a shuffled order. Only an example whose gold tools alone do not fit (or a no-call
example that cannot show even one tool) is given up.

Pure and seeded: the caller passes the token count (the trainer has the tokenizer; this module
stays free of it) and the random stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hammer_fc.augment.masking import dedup_tools
from hammer_fc.prompts.training import tools_json
from hammer_fc.schema import Example, Tool

SHORTENED_FROM = "shortened_from"
"""``meta`` key of a shortened example: how many (distinct) tools it offered before."""


def shorten_target(cutoff: int, shorten_to: int | None) -> int:
    """The length examples are shortened to: ``shorten_to`` (``None``: the cut-off), never more
    than ``cutoff``. The trainer's loader and composer and the model card all use this one rule."""
    return cutoff if shorten_to is None else min(shorten_to, cutoff)


def _with_tools(example: Example, tools: list[Tool]) -> Example:
    return Example(
        messages=example.messages, tools=tools, calls=example.calls, id=example.id, meta=example.meta
    )


def shorten(
    example: Example, length: Callable[[Example], int], limit: int, rng: random.Random
) -> Example | None:
    """``example`` when ``length(example) <= limit``; else the same example with its gold tools
    and the most distractors that keep it within ``limit``, shuffled; ``None`` when not even
    the gold tools fit (a no-call example: not even its shortest tool), or the example has no gold
    answer.

    ``length`` is called O(log tools) times (a bisection over the number of distractors).
    Duplicate tool names are dropped on the way (the first wins), as every view does.
    """
    if length(example) <= limit:
        return example
    if example.calls is None:
        return None
    tools = dedup_tools(example.tools)
    gold_names = {call.name for call in example.calls}
    gold = [tool for tool in tools if tool.name in gold_names]
    others = [tool for tool in tools if tool.name not in gold_names]
    rng.shuffle(others)

    def fits(k: int) -> bool:
        return length(_with_tools(example, gold + others[:k])) <= limit

    low = 0 if gold else 1  # a no-call example must still offer a tool to refuse
    if low > len(others):
        return None
    if not fits(low) and not gold:  # the drawn tool is too long: try the shortest one
        shortest = min(range(len(others)), key=lambda k: len(tools_json([others[k]])))
        others.insert(0, others.pop(shortest))
    if not fits(low):
        return None
    high = len(others) + 1  # fits(low) holds, fits(high) would not: bisect between them
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    kept = gold + others[:low]
    shuffled = rng.sample(kept, len(kept))
    shortened = _with_tools(example, shuffled)
    if length(shortened) > limit:  # another order can tokenize a token or two longer
        shortened = _with_tools(example, kept)
    shortened.meta = {**example.meta, SHORTENED_FROM: len(tools)}
    return shortened
