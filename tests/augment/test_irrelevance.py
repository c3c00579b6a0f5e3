"""Irrelevance augmentation: ``[]`` examples without the tools the query needs, at the share asked."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hammer_fc.augment.irrelevance import add_irrelevance, make_irrelevant, tool_pool
from hammer_fc.errors import HammerError
from hammer_fc.schema import Example, Message, Tool, ToolCall
from helpers.xlam_strategies import to_examples, xlam_dataset

SETTINGS = settings(max_examples=60, deadline=None)


def _example(tools: list[str], calls: list[str] | None) -> Example:
    return Example(
        messages=[Message("user", "q")],
        tools=[Tool(name) for name in tools],
        calls=None if calls is None else [ToolCall(name) for name in calls],
        id="7",
    )


@SETTINGS
@given(xlam_dataset(min_size=2, max_size=10), st.floats(0, 2), st.integers(0, 2**32))
def test_added_examples_answer_no_call_and_offer_none_of_the_gold_tools(records, share, seed):
    examples = to_examples(records)
    sources = {e.id: e for e in examples}
    try:
        out = add_irrelevance(examples, share, random.Random(seed), tool_pool(examples))
    except HammerError:
        assert not any(make_irrelevant(e, random.Random(0), tool_pool(examples)) for e in examples)
        return
    assert out[: len(examples)] == examples
    added = out[len(examples) :]
    assert len(added) == round(share * len(examples))
    for example in added:
        source = sources[example.id.removesuffix(":irrelevant")]
        gold = {c.name for c in source.calls}
        assert example.calls == []
        assert example.tools, "an irrelevance example must still offer tools"
        assert not gold & {t.name for t in example.tools}
        assert len({t.name for t in example.tools}) == len(example.tools)
        assert example.messages == source.messages
        assert example.meta["irrelevant"] is True


@SETTINGS
@given(xlam_dataset(min_size=2, max_size=10), st.integers(0, 2**32))
def test_irrelevance_is_deterministic_per_seed(records, seed):
    examples = to_examples(records)
    pool = tool_pool(examples)
    try:
        a = add_irrelevance(examples, 0.5, random.Random(seed), pool)
    except HammerError:
        return
    assert a == add_irrelevance(examples, 0.5, random.Random(seed), pool)


def test_distractors_are_kept_and_the_gold_tools_removed():
    made = make_irrelevant(_example(["a", "b", "c"], ["b"]), random.Random(0), None)
    assert made is not None
    assert [t.name for t in made.tools] == ["a", "c"]
    assert made.calls == [] and made.id == "7:irrelevant"


def test_an_example_calling_every_tool_gets_unrelated_tools_from_the_pool():
    pool = [Tool("a"), Tool("x"), Tool("y")]
    made = make_irrelevant(_example(["a"], ["a"]), random.Random(0), pool)
    assert made is not None
    assert made.tools and {t.name for t in made.tools} <= {"x", "y"}
    assert make_irrelevant(_example(["a"], ["a"]), random.Random(0), None) is None
    assert make_irrelevant(_example(["a"], ["a"]), random.Random(0), [Tool("a")]) is None


def test_examples_without_a_gold_call_give_nothing():
    assert make_irrelevant(_example(["a", "b"], []), random.Random(0), None) is None
    assert make_irrelevant(_example(["a", "b"], None), random.Random(0), None) is None


def test_share_zero_adds_nothing_and_an_impossible_share_is_a_clear_error():
    examples = [_example(["a"], ["a"])] * 4
    assert add_irrelevance(examples, 0, random.Random(0), None) == examples
    with pytest.raises(HammerError, match="irrelevance"):
        add_irrelevance(examples, 0.5, random.Random(0), None)
    with pytest.raises(HammerError, match=">= 0"):
        add_irrelevance(examples, -0.1, random.Random(0), None)


def test_a_share_above_one_reuses_sources():
    examples = [_example(["a", "b"], ["a"]), _example(["c", "d"], ["d"])]
    out = add_irrelevance(examples, 2.0, random.Random(0), None)
    assert len(out) == 6 and all(e.calls == [] for e in out[2:])
