"""Composition: multi-call examples from single-call ones; answerable, no clashing tool names,
answers in query order, seeded per (seed, epoch, index), counted; in ``hammer data prepare`` and
in the trainer's per-epoch dataset. Generated data (tools with one name and different specs
included), plus BFCL live."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hammer_fc.augment.compose import (
    COMPOSED,
    WORDING,
    Composer,
    composable,
    compose_count,
    iter_composed_epoch,
    join_queries,
    one_request,
)
from hammer_fc.augment.epochs import iter_epoch
from hammer_fc.cli import app
from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.prepare.records import record
from hammer_fc.prepare.render import iter_lines
from hammer_fc.prepare.run import prepare
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.train.data import Encoder, render
from hammer_fc.train.dataset import MaskedEpochDataset
from helpers.xlam_strategies import NAMES, to_examples, write_dataset, xlam_record, xlam_tool

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def clashing_dataset(draw: st.DrawFn) -> list[dict]:
    """xLAM records from two tool pools over the same names with different specs: one name,
    two functions, as BFCL live has (262 names)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    pools = [[draw(xlam_tool(name)) for name in names] for _ in range(2)]
    n = draw(st.integers(2, 10))
    return [draw(xlam_record(pools[draw(st.integers(0, 1))], i)) for i in range(n)]


def by_id(examples: list[Example]) -> dict[str, Example]:
    return {e.id: e for e in examples}


def check_composed(example: Example, sources: dict[str, Example]) -> None:
    """The invariants of one composed example against its sources."""
    ids = example.meta[COMPOSED]
    chosen = [sources[i] for i in ids]
    assert 2 <= len(chosen) == len(example.calls)
    assert all(composable(s) for s in chosen)
    tools = {t.name: t for t in example.tools}
    assert len(tools) == len(example.tools), "a tool name is offered twice"
    for call, source in zip(example.calls, chosen, strict=True):  # answers in query order
        assert call == source.calls[0]
        assert tools[call.name] == source.tool(call.name), "a call's tool is not the one its source offered"
        if set(call.arguments) <= {p.name for p in source.tool(call.name).params}:  # 2 BFCL golds are not
            assert set(call.arguments) <= {p.name for p in tools[call.name].params}
    for source in chosen:  # every source tool shown, none with another spec under its name
        for tool in source.tools:
            assert tools[tool.name] == source.tool(tool.name)
    assert set(tools) == {t.name for s in chosen for t in s.tools}
    assert len(
        {(c.name, orjson.dumps(c.arguments, option=orjson.OPT_SORT_KEYS)) for c in example.calls}
    ) == len(example.calls), "the same call twice"
    query, at = example.query, 0
    if example.meta[WORDING] == "one-request":  # the first query, then what the others change
        assert len({c.name for c in example.calls}) == 1
        at = query.index(chosen[0].query.strip()) + len(chosen[0].query.strip())
        first = example.calls[0].arguments
        for call in example.calls[1:]:
            assert set(call.arguments) >= set(first)
            for value in (v for k, v in call.arguments.items() if v != first.get(k, ...)):
                said = ", ".join(map(str, value)) if isinstance(value, list) else str(value).strip()
                assert said in query[at:], f"{said!r} is not asked for"
        return
    assert example.meta[WORDING] == "joined"
    for source in chosen:  # every query, verbatim, in order
        at = query.index(source.query.strip(), at) + len(source.query.strip())


def no_pair(examples: list[Example]) -> bool:
    """Brute force: no two composable examples can be joined."""
    pool = [e for e in examples if composable(e)]
    for a in pool:
        for b in pool:
            if a is b or a.calls == b.calls:
                continue
            mine, theirs = {t.name: t for t in reversed(a.tools)}, {t.name: t for t in reversed(b.tools)}
            if all(theirs.get(name, tool) == tool for name, tool in mine.items()):
                return False
    return True


@SETTINGS
@given(clashing_dataset(), st.integers(0, 2**32), st.integers(0, 3))
def test_composed_examples_are_answerable_in_order_without_clashing_names(records, seed, epoch):
    examples = to_examples(records)
    composer = Composer(examples)
    try:
        drawn = [composer.at(seed, epoch, j) for j in range(6)]
    except HammerError as err:
        assert "cannot compose" in str(err) and no_pair(examples)
        return
    for example in drawn:
        check_composed(example, by_id(examples))


@SETTINGS
@given(clashing_dataset(), st.integers(0, 2**32), st.sampled_from([0.0, 0.5, 1.0]))
def test_masking_applies_after_composition_and_keeps_every_call_answerable(records, seed, ratio):
    examples = [e for e in to_examples(records) if e.calls is not None]
    count = compose_count(len(examples), 1.0)
    try:
        views = list(iter_composed_epoch(examples, 1, count=count, mask_ratio=ratio, seed=seed))
    except HammerError:
        assert no_pair(examples)
        return
    assert len(views) == len(examples) + count
    assert views[: len(examples)] == list(iter_epoch(examples, 1, mask_ratio=ratio, seed=seed))
    for view, masked in views[len(examples) :]:
        if ratio in (0.0, 1.0):
            assert masked == (ratio == 1.0)
        tools = {t.name: t for t in view.tools}
        assert len(tools) == len(view.tools) and len(view.calls) >= 2
        for call in view.calls:
            assert set(call.arguments) <= {p.name for p in tools[call.name].params}


def _weather(i: int, city: str) -> Example:
    tool = Tool("get_weather", "Weather of a city.", [Param("city", "string", required=True)])
    other = Tool(f"helper_{i}", "Unrelated.", [Param("x", "integer")])
    return Example(
        messages=[Message("user", f"Weather in {city}?")],
        tools=[tool, other],
        calls=[ToolCall("get_weather", {"city": city})],
        id=f"w{i}",
    )


def _clash(i: int) -> Example:
    """A ``get_weather`` with another spec: never to be shown beside the one above."""
    tool = Tool("get_weather", "Weather, by station.", [Param("station", "integer", required=True)])
    return Example(
        messages=[Message("user", f"Station {i}")],
        tools=[tool],
        calls=[ToolCall("get_weather", {"station": i})],
        id=f"c{i}",
    )


def _fixed() -> list[Example]:
    cities = ["Lyon", "Oslo", "Lima", "Pune"]
    return [_weather(i, c) for i, c in enumerate(cities)] + [_clash(i) for i in range(4)]


def test_two_calls_of_one_function_with_other_arguments_are_composed_where_the_data_allows():
    examples = _fixed()
    composer = Composer(examples)
    same = 0
    for j in range(200):
        example = composer.at(0, 0, j)
        check_composed(example, by_id(examples))
        specs = {t.name: t for t in example.tools}
        assert len(specs) == len(example.tools)
        calls = Counter(c.name for c in example.calls)
        same += calls["get_weather"] >= 2
    assert same == 200  # every composition here repeats the function: no other call is on offer


def test_calls_of_one_function_are_also_asked_for_as_one_request_with_the_other_values():
    examples = [_weather(i, c) for i, c in enumerate(["Lyon", "Oslo", "Lima", "Pune"])]
    composer = Composer(examples)
    drawn = [composer.at(0, 0, j) for j in range(200)]
    wordings = Counter(e.meta[WORDING] for e in drawn)
    assert 120 < wordings["one-request"] < 190  # most; the rest joined, query after query
    for example in drawn:
        if example.meta[WORDING] == "one-request":
            cities = [c.arguments["city"] for c in example.calls]
            assert example.query.count("Weather in") == 1  # one request, not several
            assert all(city in example.query for city in cities)


def test_a_request_says_only_what_the_calls_differ_in_and_never_what_it_cannot_say():
    rng = random.Random(0)
    first = ToolCall("area", {"shape": "circle", "radius": 5})
    text = one_request(
        "Area of a circle of radius 5", [first, ToolCall("area", {"shape": "circle", "radius": 7.5})], rng
    )
    assert text.startswith("Area of a circle of radius 5.") and "7.5" in text and "circle" not in text[28:]
    both = one_request(
        "Area of a circle of radius 5",
        [
            first,
            ToolCall("area", {"shape": "square", "radius": 2}),
            ToolCall("area", {"shape": "circle", "radius": 9}),
        ],
        rng,
    )
    assert "shape square and radius 2; then for radius 9." in both
    assert one_request("q", [first, ToolCall("area", {"shape": "circle"})], rng) is None  # radius left out
    more = one_request("q", [ToolCall("area", {"shape": "circle"}), first], rng)
    assert "5" in more  # a value the first call does not set is said
    assert one_request("q", [first, ToolCall("area", {"shape": {"kind": "x"}, "radius": 5})], rng) is None
    assert one_request("q", [ToolCall("f", {"on": True}), ToolCall("f", {"on": False})], rng) is None
    listed = one_request(
        "Sum 1 and 2", [ToolCall("add", {"xs": [1, 2]}), ToolCall("add", {"xs": [3, 4]})], rng
    )
    assert "3, 4" in listed


def test_each_epoch_draws_its_own_and_every_draw_is_reproducible():
    examples = [e for e in load_bfcl("live_simple") if e.calls] + _fixed()
    composer = Composer(examples)
    epoch0 = [composer.at(7, 0, j) for j in range(20)]
    assert epoch0 == [Composer(examples).at(7, 0, j) for j in range(20)]  # a fresh composer, same draws
    assert [composer.at(7, 0, j) for j in reversed(range(20))][::-1] == epoch0  # order-independent
    epoch1 = [composer.at(7, 1, j) for j in range(20)]
    other_seed = [composer.at(8, 0, j) for j in range(20)]
    assert sum(a != b for a, b in zip(epoch0, epoch1, strict=True)) > 15
    assert sum(a != b for a, b in zip(epoch0, other_seed, strict=True)) > 15
    assert Counter(len(e.calls) for e in epoch0).keys() <= {2, 3}
    for example in epoch0 + epoch1:
        check_composed(example, by_id(examples))


def test_bfcl_live_compositions_never_show_two_specs_under_one_name():
    live = [e for e in load_bfcl("live_multiple") + load_bfcl("live_simple") if e.calls is not None]
    composer = Composer(live)
    sources = by_id(live)
    drawn = [composer.at(0, 0, j) for j in range(300)]
    for example in drawn:
        check_composed(example, sources)
    repeated = sum(len({c.name for c in e.calls}) < len(e.calls) for e in drawn)
    assert 30 < repeated < 270  # both shapes: parallel (one function twice) and parallel-multiple


def test_lengths_keep_a_composition_within_the_limit():
    examples = _fixed()
    lengths = [100, 100, 300, 300, 100, 100, 100, 100]
    composer = Composer(examples, lengths=lengths, max_length=250)
    index = {e.id: k for k, e in enumerate(examples)}
    for j in range(100):
        chosen = composer.choose(random.Random(j))
        assert sum(lengths[k] for k in chosen) <= 250
        assert not {2, 3} & set(chosen)
    assert {index[i] for i in composer.at(0, 0, 0).meta[COMPOSED]} <= {0, 1, 4, 5, 6, 7}


def test_nothing_to_compose_is_a_clear_error():
    alone = [_weather(0, "Lyon"), _clash(0), _clash(0)]  # one spec each way; the clash twice, same call
    with pytest.raises(HammerError, match="cannot compose"):
        Composer(alone).at(0, 0, 0)
    with pytest.raises(HammerError, match="compose"):
        compose_count(10, -0.5)


def test_queries_are_joined_verbatim_in_order_in_several_wordings():
    wordings = {join_queries(["Book a table", "What time is it?"], random.Random(s)) for s in range(40)}
    assert len(wordings) > 5
    for text in wordings:
        assert text.index("Book a table.") < text.index("What time is it?")


def _prepare(tmp_path: Path, name: str, compose: float, **options) -> bytes:
    out = tmp_path / f"{name}.jsonl"
    prepare([Path("bfcl:live_simple")], out, compose=compose, epochs=2, seed=3, workers=1, **options)
    return out.read_bytes()


def test_prepare_writes_each_epochs_compositions_after_its_lines_and_nothing_else_changes(tmp_path):
    examples = [e for e in load_bfcl("live_simple") if e.calls is not None]
    plain = b"".join(iter_lines(examples, epochs=2, mask_ratio=0.33, seed=3))
    assert _prepare(tmp_path, "zero", 0.0) == plain  # compose 0: today's bytes
    lines = _prepare(tmp_path, "composed", 0.25).splitlines(keepends=True)
    n, count = len(examples), compose_count(len(examples), 0.25)
    assert len(lines) == 2 * (n + count)
    composer = Composer(examples)
    for epoch in range(2):
        block = lines[epoch * (n + count) : (epoch + 1) * (n + count)]
        expected = [
            orjson.dumps(record(view, masked)) + b"\n"
            for view, masked in iter_composed_epoch(
                examples, epoch, count=count, mask_ratio=0.33, seed=3, composer=composer
            )
        ]
        assert block == expected
        assert b"".join(block[:n]) == b"".join(plain.splitlines(keepends=True)[epoch * n : (epoch + 1) * n])
    assert lines[n : n + count] != lines[2 * n + count :]  # the second epoch composed anew


def test_the_command_takes_compose_and_a_negative_share_is_refused(tmp_path):
    records = [
        {
            "id": i,
            "query": f"Weather in city {i}?",
            "tools": orjson.dumps([{"name": "weather", "parameters": {"city": {"type": "str"}}}]).decode(),
            "answers": orjson.dumps([{"name": "weather", "arguments": {"city": f"c{i}"}}]).decode(),
        }
        for i in range(6)
    ]
    data = write_dataset(records, tmp_path / "in.json")
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    command = ["data", "prepare", str(data), "--compose", "0.5", "--mask-ratio", "0", "-o", str(out)]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "multi-call examples composed" in result.output
    answers = [orjson.loads(line)["completion"] for line in out.read_bytes().splitlines()]
    assert len(answers) == 9 and all(a.count('"weather"') >= 2 for a in answers[6:])
    with pytest.raises(HammerError, match="composition share must be >= 0"):
        prepare([data], out, compose=-1)


def test_the_trainers_dataset_composes_per_epoch_within_the_cut_off():
    tokenizer = load_tokenizer(resolve("smollm2-135m"))
    encode = Encoder(tokenizer)
    items: list = [e for e in load_bfcl("live_simple") if e.calls][:40]
    lengths = [len(encode(*render(item))[0]) for item in items]
    dataset = MaskedEpochDataset(
        items, tokenizer, mask_ratio=0.33, seed=1, cutoff=768, composed=10, lengths=lengths
    )
    assert len(dataset) == 50 and len(dataset.lengths()) == 50
    n = len(dataset)
    sources = by_id(items)
    for epoch in range(2):
        for i in range(40, 50):
            view, _ = dataset.view(epoch * n + i)
            assert len(view.calls) >= 2
            plain = dataset.unmasked(epoch, i)
            assert len(encode(*render(plain))[0]) <= 768
            check_composed(plain, sources)
    assert dataset.composed_over_cutoff == 0
    again = MaskedEpochDataset(
        items, tokenizer, mask_ratio=0.33, seed=1, cutoff=768, composed=10, lengths=lengths
    )
    assert [again[i] for i in range(40, 50)] == [dataset[i] for i in range(40, 50)]
    assert [dataset[i] for i in range(40, 50)] != [dataset[n + i] for i in range(40, 50)]
    plain = MaskedEpochDataset(items, tokenizer, mask_ratio=0.33, seed=1, cutoff=768)
    assert [plain[i] for i in range(40)] == [dataset[i] for i in range(40)]  # the inputs' views unchanged
    assert [plain[40 + i] for i in range(40)] == [dataset[n + i] for i in range(40)]
