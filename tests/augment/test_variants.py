"""Value variants: one example's request with other values said beside its own, one call per
value. Invariants over BFCL live (what is said is what is called, in order; every value valid
for the shown tool), the wording on hand-made cases, what is never varied, and the composer's
and trainer's use of them (seeded per index; a share of 0 changes nothing)."""

from __future__ import annotations

import random
import re
from collections import Counter
from functools import partial

import orjson
import pytest
from typer.testing import CliRunner

from hammer_fc.augment.compose import COMPOSED, Composer
from hammer_fc.augment.variants import VARIANT_OF, Variants, listed
from hammer_fc.cli import app
from hammer_fc.errors import HammerError
from hammer_fc.formats.bfcl import load_bfcl
from hammer_fc.model_spec import load_tokenizer, resolve
from hammer_fc.prepare.run import prepare
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from hammer_fc.train.config import TrainConfig, validate
from hammer_fc.train.data import DataStats, Encoder, render
from hammer_fc.train.dataset import MaskedEpochDataset
from hammer_fc.train.report import model_card
from helpers.xlam_strategies import write_dataset


def _said(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def check_variant(variant: Example, source: Example) -> None:
    """A variant against its source: the source's call first, then calls that differ from it
    only in the varied parameters, each value valid for the tool and said in the request in the
    order of the calls, the request otherwise the source's."""
    assert variant.meta[VARIANT_OF] == source.id
    assert variant.tools == source.tools
    first, *rest = variant.calls
    assert first == source.calls[0] and 2 <= len(variant.calls) <= 4
    tool = source.tool(first.name)
    varied = {k for call in rest for k, v in call.arguments.items() if v != first.arguments[k]}
    assert 1 <= len(varied) <= 2
    for call in rest:
        assert call.name == first.name and set(call.arguments) == set(first.arguments)
        for name in varied:
            value, original = call.arguments[name], first.arguments[name]
            assert type(value) is type(original) and value != original
            param = next((p for p in tool.params if p.name == name), None)
            if param is not None and param.enum:
                assert value in param.enum
    assert len({orjson.dumps(c.arguments, option=orjson.OPT_SORT_KEYS) for c in variant.calls}) == len(
        variant.calls
    )
    query = variant.query
    starts = []
    for name in varied:  # the values, in answer order, where the source said its own
        at = query.index(_said(first.arguments[name]))
        starts.append(at)
        for call in rest:
            at = query.index(_said(call.arguments[name]), at + 1)
    assert source.query.startswith(query[: min(starts)])
    assert ("respectively" in query) == (len(varied) == 2)
    assert len(query) > len(source.query)


@pytest.fixture(scope="module")
def live() -> list[Example]:
    return [e for e in load_bfcl("live_simple") + load_bfcl("live_multiple") if e.calls]


def test_variants_of_bfcl_live_call_what_they_say_in_order(live):
    composer = Composer(live, variant_share=1.0)
    assert len(composer.variable) > len(composer.sources) / 2  # most live requests say a value
    sources = {e.id: e for e in live}
    counts, two = Counter(), 0
    for j in range(300):
        variant = composer.at(0, 0, j)
        check_variant(variant, sources[variant.meta[VARIANT_OF]])
        counts[len(variant.calls)] += 1
        two += "respectively" in variant.query
    assert counts[2] > counts[3] > counts[4] > 0  # mostly two calls, as in BFCL's parallel cases
    assert 20 < two < 100


def _city(query: str, city: str, unit: str = "celsius") -> Example:
    tool = Tool(
        "weather",
        "Weather of a city.",
        [
            Param("city", "string", required=True),
            Param("unit", "string", enum=["celsius", "fahrenheit", "kelvin"]),
        ],
    )
    return Example(
        messages=[Message("user", query)],
        tools=[tool],
        calls=[ToolCall("weather", {"city": city, "unit": unit})],
        id=city,
    )


def test_other_values_are_said_beside_the_requests_own():
    data = [
        _city("What is the weather in Oslo?", "Oslo"),
        _city("Lima weather", "Lima"),
        _city("Pune now", "Pune"),
    ]
    variants = Variants(data)
    assert variants.varying(data[0]) == ["city"]  # the unit is not said: not varied
    seen = set()
    for seed in range(40):
        made = variants.build(data[0], random.Random(seed))
        check_variant(made, data[0])
        seen.add(made.query)
        assert made.query.startswith("What is the weather in Oslo") and made.query.endswith("?")
    assert {"What is the weather in Oslo and Lima?", "What is the weather in Oslo and Pune?"} <= seen
    assert any(q.count(",") + q.count(" and ") == 2 for q in seen)  # "Oslo, Lima and Pune"


def test_a_listed_enum_offers_its_other_values_and_numbers_stay_near_and_of_their_type():
    said = _city("Weather in Oslo in celsius please", "Oslo")
    variants = Variants([said])
    assert variants.varying(said) == ["unit"]  # no other city in the data; the enum has others
    for seed in range(20):
        made = variants.build(said, random.Random(seed))
        check_variant(made, said)
        assert {c.arguments["unit"] for c in made.calls[1:]} <= {"fahrenheit", "kelvin"}
    tool = Tool("area", "Area.", [Param("radius", "number"), Param("sides", "integer")])
    shape = Example(
        messages=[Message("user", "Area for radius 2.5 with 6 sides.")],
        tools=[tool],
        calls=[ToolCall("area", {"radius": 2.5, "sides": 6})],
        id="a",
    )
    variants = Variants([shape])
    assert sorted(variants.varying(shape)) == ["radius", "sides"]
    both = 0
    for seed in range(60):
        made = variants.build(shape, random.Random(seed))
        check_variant(made, shape)
        for call in made.calls[1:]:
            assert 1.2 <= call.arguments["radius"] <= 3.8 and 3 <= call.arguments["sides"] <= 9
        both += made.query.endswith("respectively.")
    assert both > 0


def test_nothing_is_varied_that_the_request_does_not_say_once():
    tool = Tool("f", "F.", [Param("on", "boolean"), Param("note", "string"), Param("n", "integer")])

    def example(query: str, **arguments: object) -> Example:
        return Example(
            messages=[Message("user", query)], tools=[tool], calls=[ToolCall("f", arguments)], id=query
        )

    cases = [
        example("Turn it on", on=True),  # a boolean
        example("Send 5 and then 5 again", n=5),  # said twice
        example("Send fifty", n=50),  # not said as written
        example("Send 55", n=5),  # only inside a longer number
        example("Send 2.5", n=2),  # only inside a decimal
        example("Note: " + "word " * 12, note=("word " * 12).strip()),  # free text
    ]
    variants = Variants(cases)
    for case in cases:
        assert variants.varying(case) == [], case.query
    composer = Composer([*cases, example("Send 7", n=7)], variant_share=1.0)
    assert [composer.examples[i].query for i in composer.variable] == ["Send 7"]


def test_a_share_of_zero_draws_as_before_and_a_share_out_of_range_is_refused(live):
    plain, zero = Composer(live), Composer(live, variant_share=0.0)
    assert [plain.at(3, 1, j) for j in range(30)] == [zero.at(3, 1, j) for j in range(30)]
    half = Composer(live, variant_share=0.5)
    drawn = [half.at(3, 1, j) for j in range(200)]
    assert drawn == [Composer(live, variant_share=0.5).at(3, 1, j) for j in range(200)]
    kinds = Counter(VARIANT_OF in e.meta for e in drawn)
    assert 70 < kinds[True] < 130 and all(COMPOSED in e.meta for e in drawn if VARIANT_OF not in e.meta)
    for share in (-0.1, 1.5):
        with pytest.raises(HammerError, match="variant share"):
            Composer(live, variant_share=share)
    config = TrainConfig(compose=0.3, compose_variants=2.0)
    with pytest.raises(HammerError, match="compose_variants"):
        validate(config)


def test_the_trainers_dataset_draws_variants_within_the_cut_off(live):
    tokenizer = load_tokenizer(resolve("smollm2-135m"))
    encode = Encoder(tokenizer)
    items: list = live[:60]
    lengths = [len(encode(*render(item))[0]) for item in items]
    dataset = MaskedEpochDataset(
        items,
        tokenizer,
        mask_ratio=0.33,
        seed=1,
        cutoff=1024,
        composed=20,
        variant_share=1.0,
        lengths=lengths,
    )
    sources = {e.id: e for e in items}
    made = [dataset.unmasked(1, 60 + j) for j in range(20)]
    variants = [e for e in made if VARIANT_OF in e.meta]
    assert len(variants) >= 18
    for variant in variants:
        check_variant(variant, sources[variant.meta[VARIANT_OF]])
        assert len(encode(*render(variant))[0]) <= 1024
    assert listed(["a", "b"], random.Random(0)) == "a and b"


def test_the_command_writes_variants_and_refuses_a_share_out_of_range(tmp_path):
    records = [
        {
            "id": i,
            "query": f"Weather in {city}?",
            "tools": orjson.dumps([{"name": "weather", "parameters": {"city": {"type": "str"}}}]).decode(),
            "answers": orjson.dumps([{"name": "weather", "arguments": {"city": city}}]).decode(),
        }
        for i, city in enumerate(["Oslo", "Lima", "Pune", "Rome", "Kyiv", "Baku"])
    ]
    data = write_dataset(records, tmp_path / "in.json")
    out = tmp_path / "out.jsonl"
    command = ["data", "prepare", str(data), "--compose", "1", "--mask-ratio", "0", "-o", str(out)]
    result = CliRunner().invoke(app, [*command, "--compose-variants", "1"])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) == 12
    for row in rows[6:]:  # "Weather in Oslo and Lima?" -> one call per city, in that order
        cities = re.findall(r'"city": ?"(\w+)"', row["completion"])
        assert len(cities) >= 2 and row["prompt"].count("Weather in") == 1
        said = row["prompt"][row["prompt"].rindex("Weather in") :]
        assert [said.index(c) for c in cities] == sorted(said.index(c) for c in cities)
    with pytest.raises(HammerError, match=r"variant share must be in \[0, 1\], got 1.5"):
        prepare([data], out, compose=1, compose_variants=1.5)


def test_the_card_says_what_share_of_the_compositions_are_variants():
    stats = DataStats()
    stats.composed_per_epoch = 12
    card = partial(model_card, name="t", base="b", sources=["s"], stats=stats, summary={}, command="c")
    said = card(config=TrainConfig(compose=0.3, compose_variants=0.5))
    assert "12 per epoch (not in the token counts above), about 50% of them value variants" in said
    assert "value variants" not in card(config=TrainConfig(compose=0.3))
