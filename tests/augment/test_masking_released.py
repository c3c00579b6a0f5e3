"""--masking released: the authors' released masking, seeded and deterministic (authors.md §1)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from hammer_fc.augment.epochs import iter_epoch
from hammer_fc.augment.released import released_mask, released_view
from hammer_fc.errors import HammerError
from hammer_fc.formats.xlam import example_from_xlam
from hammer_fc.prepare.run import prepare
from hammer_fc.prompts import get_template
from hammer_fc.schema import Example

NAME = re.compile(r"[A-Za-z0-9_.]+")


def _example(index: int = 0) -> Example:
    tools = [
        {
            "name": "password",
            "description": "Random password.",
            "parameters": {
                "length": {"description": "Length. Defaults to 12.", "type": "int", "default": 12},
                "upper": {
                    "description": "Use upper case. Defaults to True.",
                    "type": "bool",
                    "default": True,
                },
                "kind": {"description": "Kind, e.g. 'pin' or 'word'.", "type": "str", "default": "pin"},
                "count": {"description": "How many; 5 at most.", "type": "str", "default": "5"},
            },
        },
        {
            "name": "weather",
            "description": "Weather.",
            "parameters": {"city": {"type": "str", "description": "City."}},
        },
    ]
    tools.append(tools[1])  # a duplicate, as xLAM has them
    answers = [
        {"name": "password", "arguments": {"upper": True, "length": 12, "kind": "pin", "count": 5}},
        {"name": "weather", "arguments": {"city": "Lyon"}},
    ]
    record = {"query": "A Pin password of length 12, and the weather in Lyon.", "tools": json.dumps(tools)}
    record["answers"] = json.dumps(answers)
    return example_from_xlam(record, index, Path("x.json"))


def test_masked_row_follows_the_released_rules() -> None:
    example = _example()
    masked = released_mask(example, random.Random(3))
    names = [t.name for t in masked.tools]
    assert len(names) == len(set(names)) == 2  # duplicates dropped, none left after step 3
    assert all(NAME.fullmatch(n) and 5 <= len(n) <= 15 for n in names)
    by_name = {t.name: t for t in masked.tools}
    for call in masked.calls or []:
        tool = by_name[call.name]
        order = [p.name for p in tool.params]
        assert list(call.arguments) == [n for n in order if n in call.arguments]  # the tool's order
        assert all(4 <= len(n) <= 10 and NAME.fullmatch(n) for n in order)
    password = next(t for t in masked.tools if len(t.params) == 4)
    call = next(c for c in masked.calls or [] if c.name == password.name)
    length, upper, kind, count = password.params
    assert length.default in range(13, 17) and call.arguments[length.name] == length.default
    assert isinstance(upper.default, float) and 1 < upper.default < 2  # True + random()
    assert call.arguments[upper.name] == upper.default
    assert (
        isinstance(kind.default, str) and len(kind.default) == 5 and call.arguments[kind.name] == kind.default
    )
    assert f"Defaults to {length.default}." in length.description
    # "5" (a string default) and the answer's 5 agree as str(): the tool changes, the answer not.
    assert count.default != "5" and call.arguments[count.name] == 5
    query = masked.messages[0].content
    assert f"A {kind.default.capitalize()} password of length {length.default}" in query
    assert "Lyon" in query  # no default there: left alone


def test_unmasked_rows_are_left_exactly_as_they_are() -> None:
    example = _example()
    views = [released_view(example, random.Random(seed)) for seed in range(60)]
    plain = [view for view, masked in views if not masked]
    assert plain and all(view is example for view in plain)  # duplicates and order kept
    share = sum(masked for _, masked in views) / len(views)
    assert 0.5 < share < 0.85


def test_seeded_and_deterministic_across_epochs() -> None:
    examples = [_example(i) for i in range(200)]

    def render(seed: int, epoch: int) -> list[str]:
        views = iter_epoch(examples, epoch, mask_ratio=2 / 3, seed=seed, masking="released")
        return [get_template("authors-sft").prompt(view) for view, _ in views]

    assert render(1, 0) == render(1, 0)
    assert render(1, 0) != render(1, 1) != render(2, 0)
    masked = sum(
        masked for _, masked in iter_epoch(examples, 0, mask_ratio=2 / 3, seed=1, masking="released")
    )
    assert 110 < masked < 155  # about 2/3 of 200


def test_prepare_released_with_the_authors_template(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    rows = [_example(i) for i in range(30)]
    source.write_text(
        json.dumps(
            [
                {
                    "id": i,
                    "query": e.messages[0].content,
                    "answers": json.dumps([c.to_dict() for c in e.calls or []]),
                    "tools": json.dumps(json.loads(_tools_text(e))),
                }
                for i, e in enumerate(rows)
            ]
        )
    )
    out = tmp_path / "out.jsonl"
    options = {"epochs": 3, "seed": 5, "template": "authors-sft", "masking": "released"}
    result = prepare([source], out, **options)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 90 and result.mask_ratio == pytest.approx(2 / 3)
    assert 40 < result.written.masked < 80 and result.written.masked == sum(r["masked"] for r in lines)
    template = get_template("authors-sft")
    for k, line in enumerate(lines):  # epoch after epoch, in input order
        plain = template.prompt(rows[k % 30])
        assert (line["prompt"] == plain) is not line["masked"], k
        assert line["completion"].startswith("```\n[") and line["completion"].endswith("]\n```")
    again = tmp_path / "again.jsonl"
    prepare([source], again, **options)
    assert again.read_bytes() == out.read_bytes()
    alpaca = tmp_path / "alpaca.jsonl"
    prepare([source], alpaca, **options, out_format="alpaca")
    first = json.loads(alpaca.read_text().splitlines()[0])
    assert first == {"instruction": lines[0]["prompt"], "input": "", "output": lines[0]["completion"]}


def _tools_text(example: Example) -> str:
    instruction = get_template("authors-sft").prompt(example)
    return instruction.split("[BEGIN OF AVAILABLE TOOLS]\n")[1].split("\n[END OF AVAILABLE TOOLS]")[0]


def test_unknown_masking_or_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="unknown masking 'theirs'"):
        prepare([tmp_path / "x.json"], tmp_path / "o.jsonl", masking="theirs")
    with pytest.raises(HammerError, match="unknown prompt template"):
        prepare([tmp_path / "x.json"], tmp_path / "o.jsonl", template="authors")
