"""Record problems beyond parsing (formats/checks.py): an answer naming a function the tool list
lacks or an argument its function does not declare, no gold answer where one is needed, an
unknown parameter type, two tools of one name. Each is an error naming file, record and field
(exit 2), or with ``--skip-invalid`` a record skipped and counted by kind, the same in ``data convert``,
``data prepare`` (both of its paths) and the library."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.eval.benches import load_bench
from hammer_fc.formats import read_examples
from hammer_fc.prepare.convert import convert_file
from hammer_fc.prepare.render import iter_lines
from hammer_fc.prepare.run import prepare
from helpers.hammer_cli import hammer
from helpers.shared_data import TOOLALPACA
from helpers.xlam_strategies import LAYOUTS, write_dataset

TOOLS = [
    {"name": "get_weather", "description": "Weather.", "parameters": {"city": {"type": "str"}}},
    {"name": "get_time", "description": "Time.", "parameters": {"zone": {"type": "str, optional"}}},
]


def _record(i: int, calls: list[dict] | None, tools: list[dict] = TOOLS) -> dict:
    record = {"id": i, "query": f"query {i}", "tools": json.dumps(tools)}
    if calls is not None:
        record["answers"] = json.dumps(calls)
    return record


def _typed(ptype: str) -> list[dict]:
    return [{"name": "get_weather", "description": "", "parameters": {"city": {"type": ptype}}}]


GOOD = _record(0, [{"name": "get_weather", "arguments": {"city": "Lyon"}}])
BAD = {
    "unknown function": (
        _record(1, [{"name": "get_weather", "arguments": {}}, {"name": "get_wether", "arguments": {}}]),
        "answers[1].name",
        "calls 'get_wether', which is not in the tool list (get_weather, get_time)",
    ),
    "unknown argument": (
        _record(2, [{"name": "get_time", "arguments": {"zone": "CET", "city": "Lyon"}}]),
        "answers[0].arguments.city",
        "argument 'city' is not a parameter of 'get_time' (parameters: zone)",
    ),
    "unknown type": (
        _record(3, [], _typed("List[foo]")),
        "tools[0].parameters.city.type",
        "unknown parameter type 'List[foo]' ('foo' maps to no JSON type)",
    ),
    "duplicate tool name": (
        _record(
            5,
            [{"name": "get_weather", "arguments": {"town": "Lyon"}}],
            [*TOOLS, {"name": "get_weather", "description": "", "parameters": {"town": {"type": "str"}}}],
        ),
        "tools[2].name",
        "two different tools are named 'get_weather' (tools[0] and tools[2]): "
        "a call could not say which one it means",
    ),
    "missing answer": (_record(4, None), "answers", "has no gold answer"),
}
"""kind -> (record, field, message)."""


def _dataset(tmp_path: Path, layout: str = "indent", kinds: tuple[str, ...] = tuple(BAD)) -> Path:
    records = [GOOD, *(BAD[kind][0] for kind in kinds), GOOD]
    return write_dataset(records, tmp_path / ("data.jsonl" if layout == "jsonl" else "data.json"), layout)


@pytest.mark.parametrize(
    "kind", ["unknown function", "unknown argument", "unknown type", "duplicate tool name"]
)
def test_each_problem_is_located_by_file_record_and_field(tmp_path: Path, kind: str) -> None:
    data = _dataset(tmp_path, kinds=(kind,))
    _, field, message = BAD[kind]
    with pytest.raises(HammerError) as err:
        read_examples(data)
    assert (err.value.file, err.value.record, err.value.field, err.value.kind) == (str(data), 1, field, kind)
    assert str(err.value) == f"{data}: record 1: field {field!r}: {message}"


def test_skip_invalid_counts_by_kind(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    result = read_examples(data, skip_invalid=True)
    assert result.skipped_kinds == {k: 1 for k in BAD if k != "missing answer"}
    assert [e.id for e in result.examples] == ["0", "4", "0"]  # no answer: fine for reading
    needed = read_examples(data, skip_invalid=True, require_answers=True)
    assert needed.skipped_kinds == Counter({k: 1 for k in BAD})
    assert read_examples(data, check=False).skipped == 0  # evaluation reads the gold as it is


@pytest.mark.parametrize("irrelevance", [0.0, 0.5], ids=["fast", "plain"])
def test_an_exact_copy_of_a_tool_is_no_conflict(tmp_path: Path, irrelevance: float) -> None:
    """xLAM lists some tools twice or more, verbatim: a call means the same whichever it names."""
    copies = _record(0, [{"name": "get_weather", "arguments": {"city": "Lyon"}}], [*TOOLS, TOOLS[0]])
    data = write_dataset([copies, GOOD], tmp_path / "data.json", "indent")
    (first, _) = read_examples(data).examples
    assert [t.name for t in first.tools] == ["get_weather", "get_time", "get_weather"]  # kept as written
    result = prepare([data], tmp_path / "out.jsonl", add_irrelevance=irrelevance, workers=1)
    assert (result.sources[0].examples, result.sources[0].skipped) == (2, 0)


@pytest.mark.parametrize(
    ("spec", "args"),
    [
        ({"type": "object", "properties": {"zone": {"type": "string"}}}, {"zone": "CET", "x": 1}),
        ({"type": "object", "properties": {}, "additionalProperties": True}, {"anything": 1}),
    ],
    ids=["undeclared", "additionalProperties"],
)
def test_openai_answers_are_checked_against_their_schema(tmp_path: Path, spec: dict, args: dict) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "t", "arguments": json.dumps(args)}}]},
        ],
        "tools": [{"type": "function", "function": {"name": "t", "parameters": spec}}],
    }
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(record) + "\n")
    if "additionalProperties" in spec:
        assert len(read_examples(path).examples) == 1
        return
    with pytest.raises(
        HammerError, match=r"record 0: field 'messages\[1\]\.tool_calls\[0\]\.function\.arguments\.x'"
    ):
        read_examples(path)


def test_convert_stops_with_exit_2_or_skips_and_counts(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    out = tmp_path / "out.jsonl"
    run = hammer("data", "convert", data, "--to", "openai", "-o", out)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    field, message = BAD["unknown function"][1:]
    assert run.stderr.strip() == f"error: {data}: record 1: field {field!r}: {message}"
    assert not out.exists()
    run = hammer("data", "convert", data, "--to", "openai", "-o", out, "--skip-invalid")
    assert run.returncode == 0, run.stderr
    assert (
        "skipped 4 invalid (1 unknown function, 1 unknown argument, 1 unknown type, 1 duplicate tool name)"
        in run.stderr
    )
    assert len(out.read_text().splitlines()) == 3
    # a training format needs the answer: the record without one is skipped, counted, too
    run = hammer("data", "convert", data, "--to", "alpaca", "-o", tmp_path / "a.json", "--skip-invalid")
    assert run.returncode == 0, run.stderr
    assert "1 missing answer" in run.stderr and "skipped 5 invalid" in run.stderr
    assert len(json.loads((tmp_path / "a.json").read_text())) == 2


def test_convert_to_alpaca_without_answer_is_a_record_error(tmp_path: Path) -> None:
    data = _dataset(tmp_path, kinds=("missing answer",))
    with pytest.raises(HammerError) as err:
        convert_file(data, tmp_path / "a.json", to_fmt="alpaca")
    assert (err.value.record, err.value.field, err.value.kind) == (1, "answers", "missing answer")
    assert len(convert_file(data, tmp_path / "x.json", to_fmt="xlam").read.examples) == 3


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("irrelevance", [0.0, 0.5], ids=["fast", "plain"])
def test_prepare_applies_the_same_checks_on_both_paths(
    tmp_path: Path, layout: str, irrelevance: float
) -> None:
    data = _dataset(tmp_path, layout)
    out = tmp_path / "out.jsonl"
    options = {"add_irrelevance": irrelevance, "workers": 2, "block": 2, "epochs": 2}
    with pytest.raises(HammerError) as err:
        prepare([data], out, **options)
    field, message = BAD["unknown function"][1:]
    assert str(err.value) == f"{data}: record 1: field {field!r}: {message}"
    assert not out.exists()
    result = prepare([data], out, skip_invalid=True, **options)
    (source,) = result.sources
    assert (source.examples, source.skipped) == (2, 5)
    assert source.skipped_kinds == Counter({k: 1 for k in BAD})
    assert [(e.record, e.kind) for e in source.errors] == [(i + 1, k) for i, k in enumerate(BAD)]
    if irrelevance == 0:  # what is kept is written exactly as the plain renderer writes it
        kept = read_examples(write_dataset([GOOD, GOOD], tmp_path / "good.json")).examples
        assert out.read_bytes() == b"".join(iter_lines(kept, epochs=2))


def test_prepare_cli_summary_counts_by_kind(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    run = hammer("data", "prepare", data, "-o", tmp_path / "out.jsonl")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "record 1: field 'answers[1].name'" in run.stderr
    run = hammer("data", "prepare", data, "-o", tmp_path / "out.jsonl", "--skip-invalid")
    assert run.returncode == 0, run.stderr
    assert (
        "2 examples (xlam), 5 skipped (1 unknown function, 1 unknown argument, 1 unknown type, 1"
        in run.stderr
    )


def test_a_benchmark_is_scored_with_its_gold_as_it_is() -> None:
    """Six Tool-Alpaca answers call a function missing from their tool list; evaluation keeps them."""
    path = TOOLALPACA
    if not path.is_file():
        pytest.skip("the authors' samples are not on this machine")
    assert len(load_bench(str(path)).examples) == 114
    checked = read_examples(path, skip_invalid=True, check=True)
    assert len(read_examples(path).examples) == 114  # the paper format is read as it is
    assert checked.skipped_kinds == {"unknown function": 6}
