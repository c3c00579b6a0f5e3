"""Realistic function-calling workloads for the on-device measurements.

A Hammer prompt's length is mostly its tool list, so the rows are prompts with 1, 5 and 20
candidate tools taken from BFCL (real function docs, real query). The query is BFCL's first
``simple_python`` case and its own function is always among the tools, at a seeded random place,
so the tool-call row is a question the model can answer.
"""

from __future__ import annotations

import random

from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.schema import Example

TOOL_COUNTS = (1, 5, 20)


def bench_examples(tool_counts: tuple[int, ...], rng: random.Random) -> dict[int, Example]:
    """One example per tool count: BFCL's first ``simple_python`` query with that many tools."""
    cases = load_bfcl("simple_python")
    tools = []
    for case in cases:
        for tool in case.tools:
            if all(t.name != tool.name for t in tools):
                tools.append(tool)
    if max(tool_counts) > len(tools):
        raise HammerError(f"BFCL simple_python has only {len(tools)} distinct tools", field="tools")
    query, gold, others = cases[0], tools[0], tools[1:]
    examples = {}
    for count in tool_counts:
        chosen = [gold, *others[: count - 1]]
        rng.shuffle(chosen)
        examples[count] = Example(
            messages=query.messages, tools=chosen, calls=query.calls, id=f"tools-{count}"
        )
    return examples
