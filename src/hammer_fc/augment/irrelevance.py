"""Irrelevance augmentation: examples whose right answer is "no call" (``[]``).

The paper's authors took ordinary examples, removed the tool(s) the gold answer calls, kept the
remaining distractors and relabelled the answer ``[]`` (method.md, "Irrelevance augmentation"),
so that the model learns to refuse rather than force a call. An example that calls every tool it
offers would be left with an empty list; it gets one to three unrelated tools from a pool
instead (tools whose names the gold answer does not use), or is passed over when there is no pool.
"""

from __future__ import annotations

import random

from hammer_fc.augment.masking import dedup_tools
from hammer_fc.errors import HammerError
from hammer_fc.schema import Example, Tool

MAX_POOL_TOOLS = 3


def make_irrelevant(example: Example, rng: random.Random, pool: list[Tool] | None) -> Example | None:
    """The ``[]`` variant of ``example``, or ``None`` when it cannot be built.

    ``None`` for an example without gold calls (nothing to remove, or the source does not say)
    and for one whose every tool is needed when no unrelated pool tool is available.
    """
    if not example.calls:
        return None
    gold = {call.name for call in example.calls}
    tools = dedup_tools([tool for tool in example.tools if tool.name not in gold])
    if not tools:
        candidates = [tool for tool in pool or () if tool.name not in gold]
        if not candidates:
            return None
        k = rng.randint(1, min(MAX_POOL_TOOLS, len(candidates)))
        tools = dedup_tools(rng.sample(candidates, k))  # a pool may repeat a name
    return Example(
        messages=example.messages,
        tools=tools,
        calls=[],
        id=f"{example.id}:irrelevant" if example.id else "irrelevant",
        meta={**example.meta, "irrelevant": True},
    )


def tool_pool(examples: list[Example]) -> list[Tool]:
    """Every distinct tool (by name, first occurrence) of ``examples``: the default pool."""
    pool: dict[str, Tool] = {}
    for example in examples:
        for tool in example.tools:
            pool.setdefault(tool.name, tool)
    return list(pool.values())


def irrelevance_count(n_examples: int, share: float) -> int:
    """How many ``[]`` examples ``share`` asks for: a share of the inputs, rounded."""
    if share < 0:
        raise HammerError(f"irrelevance share must be >= 0, got {share}", field="add_irrelevance")
    return round(n_examples * share)


def add_irrelevance(
    examples: list[Example], share: float, rng: random.Random, pool: list[Tool] | None
) -> list[Example]:
    """``examples`` followed by ``round(share * len(examples))`` new ``[]`` examples built from them.

    Sources are drawn without replacement in a shuffled order (again once every usable source has
    been used, for shares above what the data can give once). Raises :class:`HammerError` when
    examples are asked for and none of the inputs can give one.
    """
    wanted = irrelevance_count(len(examples), share)
    added: list[Example] = []
    if wanted == 0:
        return list(examples)
    sources = [i for i, example in enumerate(examples) if example.calls]
    while len(added) < wanted:
        rng.shuffle(sources)
        made_any = False
        for i in sources:
            new = make_irrelevant(examples[i], rng, pool)
            if new is None:
                continue
            made_any = True
            added.append(new)
            if len(added) == wanted:
                break
        if not made_any:
            raise HammerError(
                f"cannot add {wanted} irrelevance examples: no input has a gold call whose removal "
                "leaves a tool to offer, and the pool has no unrelated tool",
                field="add_irrelevance",
            )
    return [*examples, *added]
