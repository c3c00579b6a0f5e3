"""Shortening: an example over the cut-off keeps its gold tools and the distractors that fit;
on generated xLAM data with a stand-in length, and on BFCL live with the SmolLM2 tokenizer."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hammer_fc.augment.masking import dedup_tools
from hammer_fc.augment.shorten import SHORTENED_FROM, shorten
from hammer_fc.errors import HammerError
from hammer_fc.formats import write_examples
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.prompts.training import render_completion, render_prompt
from hammer_fc.schema import Example, Message, Tool, ToolCall
from hammer_fc.train.config import TrainConfig, validate
from hammer_fc.train.data import Encoder, load_training_data, render
from hammer_fc.train.report import model_card
from helpers.xlam_strategies import to_examples, xlam_dataset

SETTINGS = settings(max_examples=60, deadline=None)


def chars(example: Example) -> int:
    """A stand-in token count: the rendered prompt and answer in characters (grows with tools)."""
    return len(render_prompt(example)) + len(render_completion(example.calls or []))


def with_tools(example: Example, tools: list[Tool]) -> Example:
    return Example(messages=example.messages, tools=tools, calls=example.calls, id=example.id)


@SETTINGS
@given(xlam_dataset(), st.floats(0.2, 1.2), st.integers(0, 2**32))
def test_a_shortened_example_fits_keeps_its_gold_tools_and_only_its_own(records, scale, seed):
    for example in to_examples(records):
        if example.calls is None:
            continue
        limit = int(chars(example) * scale)
        before = copy.deepcopy(example)
        out = shorten(example, chars, limit, random.Random(seed))
        assert example == before, "shortening modified its input"
        tools = dedup_tools(example.tools)
        gold = [t for t in tools if t.name in {c.name for c in example.calls}]
        if chars(example) <= limit:
            assert out is example
            continue
        if out is None:  # only when even the gold tools (for [], its shortest tool) do not fit
            if gold:
                assert chars(with_tools(example, gold)) > limit
            else:
                assert all(chars(with_tools(example, [t])) > limit for t in tools)
            continue
        assert chars(out) <= limit
        assert out.calls == example.calls and out.messages == example.messages and out.id == example.id
        assert len({t.name for t in out.tools}) == len(out.tools)
        assert all(t in tools for t in out.tools)
        assert all(t in out.tools for t in gold)
        assert out.tools or not example.calls
        assert out.meta[SHORTENED_FROM] == len(tools) >= len(out.tools)


def _many_tools(n: int, gold: int) -> Example:
    tools = [Tool(f"tool_{k}", "x" * 10) for k in range(n)]
    return Example(messages=[Message("user", "q")], tools=tools, calls=[ToolCall(f"tool_{gold}")], id="e")


def test_it_keeps_the_most_distractors_that_fit_a_random_choice_in_a_shuffled_order():
    example = _many_tools(12, gold=7)

    def length(e: Example) -> int:  # every tool costs one
        return len(e.tools)

    kept_sets, gold_positions = set(), set()
    for seed in range(30):
        out = shorten(example, length, 5, random.Random(seed))
        assert out is not None and len(out.tools) == 5  # gold + 4 distractors: as many as fit
        names = [t.name for t in out.tools]
        assert "tool_7" in names
        kept_sets.add(frozenset(names))
        gold_positions.add(names.index("tool_7"))
    assert len(kept_sets) > 10 and len(gold_positions) > 2
    again = [shorten(example, length, 5, random.Random(3)) for _ in range(2)]
    assert again[0] == again[1]  # seeded
    assert shorten(example, length, 0, random.Random(0)) is None  # not even the gold tool fits


def test_a_no_call_example_keeps_at_least_one_tool_or_is_given_up():
    example = _many_tools(6, gold=0)
    example.calls = []
    out = shorten(example, lambda e: len(e.tools), 2, random.Random(0))
    assert out is not None and len(out.tools) == 2 and out.calls == []
    assert shorten(example, lambda e: len(e.tools), 0, random.Random(0)) is None
    example.calls = None  # no gold answer: nothing to keep by
    assert shorten(example, lambda e: len(e.tools), 2, random.Random(0)) is None


def test_duplicates_alone_can_make_an_example_too_long():
    example = _many_tools(3, gold=1)
    example.tools = example.tools * 3
    out = shorten(example, lambda e: len(e.tools), 3, random.Random(0))
    assert out is not None and sorted(t.name for t in out.tools) == ["tool_0", "tool_1", "tool_2"]


def _longest_live(tmp_path: Path) -> tuple[Any, Encoder, list[Example], Path]:
    """The SmolLM2 tokenizer, its encoder, the 12 BFCL live_multiple examples with the most
    tools, and a file holding them."""
    tokenizer = load_tokenizer(resolve("smollm2-135m"))
    longest = sorted(load_bfcl("live_multiple"), key=lambda e: len(e.tools), reverse=True)[:12]
    data = tmp_path / "long.jsonl"
    write_examples(longest, data, "xlam")
    return tokenizer, Encoder(tokenizer), longest, data


def test_bfcl_live_examples_over_the_cut_off_are_shortened_not_dropped(tmp_path: Path):
    """The real case: the longest live_multiple examples, the SmolLM2 tokenizer, a 768 cut-off."""
    tokenizer, encode, longest, data = _longest_live(tmp_path)
    items, lengths, stats = load_training_data(
        [str(data)], tokenizer, cutoff=768, add_irrelevance_share=0, token_budget=None, epochs=1, seed=0
    )
    assert stats.shortened > 0
    assert stats.examples + stats.over_cutoff == 12 and stats.examples >= stats.shortened
    assert sum(stats.shortened_tools.values()) == sum(stats.shortened_from_tools.values()) == stats.shortened
    for item, length in zip(items, lengths, strict=True):
        ids, _ = encode(*render(item))
        assert len(ids) == length <= 768
        source = next(e for e in longest if e.id == item.id)
        assert {c.name for c in item.calls} <= {t.name for t in item.tools}
        assert item.calls == source.calls
    again = load_training_data(
        [str(data)], tokenizer, cutoff=768, add_irrelevance_share=0, token_budget=None, epochs=1, seed=0
    )
    assert again[0] == items  # seeded
    card = model_card(
        name="t", base="b", sources=[str(data)], config=TrainConfig(), stats=stats, summary={}, command="c"
    )
    assert f"{stats.shortened} shortened to fit: tools kept min" in card


def test_a_shortening_target_below_the_cut_off_keeps_what_only_the_cut_off_fits(tmp_path: Path):
    """``shorten_to``: most examples are shortened to the target; one whose gold tools alone are
    longer than it is kept, shortened to the cut-off, instead of dropped."""
    tokenizer, encode, longest, data = _longest_live(tmp_path)
    options = dict(add_irrelevance_share=0, token_budget=None, epochs=1, seed=0)
    gold_only = [
        len(
            encode(
                *render(
                    Example(e.messages, [t for t in e.tools if t.name in {c.name for c in e.calls}], e.calls)
                )
            )[0]
        )
        for e in longest
    ]
    target = sorted(gold_only)[len(gold_only) // 2]  # half the examples' gold tools alone are longer
    dropping = load_training_data([str(data)], tokenizer, cutoff=target, **options)[2]
    items, lengths, stats = load_training_data(
        [str(data)], tokenizer, cutoff=2048, shorten_to=target, **options
    )
    assert dropping.over_cutoff > 0 and stats.over_cutoff == 0 and stats.examples == 12
    assert stats.over_shorten_to == sum(length > target for length in lengths) == dropping.over_cutoff
    for item, length in zip(items, lengths, strict=True):
        assert len(encode(*render(item))[0]) == length <= 2048
        assert item.calls == next(e for e in longest if e.id == item.id).calls
    config = TrainConfig(cutoff=2048, shorten_to=target)
    card = model_card(
        name="t", base="b", sources=[str(data)], config=config, stats=stats, summary={}, command="c"
    )
    assert f"{stats.over_shorten_to} kept between {target} and 2048 tokens" in card
    with pytest.raises(HammerError, match="shorten_to"):
        validate(TrainConfig(cutoff=512, shorten_to=1024))
