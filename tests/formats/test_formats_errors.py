"""Bad input: one clear error naming file, record and field, or skipped and counted, never lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import detect_format, read_examples

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _errors(path: Path, fmt: str | None = None) -> list[tuple[int | str | None, str | None, str]]:
    result = read_examples(path, fmt, skip_invalid=True)
    return [(e.record, e.field, e.message) for e in result.errors]


def test_xlam_first_error_stops_the_read() -> None:
    with pytest.raises(HammerError) as err:
        read_examples(BAD / "xlam_bad.jsonl")
    assert (err.value.file, err.value.record, err.value.field) == (str(BAD / "xlam_bad.jsonl"), 1, None)
    assert str(err.value).startswith(f"{BAD / 'xlam_bad.jsonl'}: record 1: not valid JSON")


def test_xlam_skip_invalid_counts_and_locates_each_record() -> None:
    result = read_examples(BAD / "xlam_bad.jsonl", skip_invalid=True)
    assert [e.id for e in result.examples] == ["1", "6"]
    assert result.skipped == 4
    located = [(e.record, e.field) for e in result.errors]
    assert located == [
        (1, None),
        (2, "tools"),
        (3, "answers[0].arguments"),
        (4, "tools[0].parameters.city.type"),
    ]
    assert all(e.file == str(BAD / "xlam_bad.jsonl") for e in result.errors)
    assert str(result.errors[2]).endswith(
        "record 3: field 'answers[0].arguments': arguments must be an object, got list"
    )


def test_openai_errors() -> None:
    assert [(r, f) for r, f, _ in _errors(BAD / "openai_bad.jsonl")] == [
        (0, "messages[0].role"),
        (1, "messages[1].tool_calls[0].function.arguments"),
        (2, "tools[0]"),
    ]
    assert read_examples(BAD / "openai_bad.jsonl", skip_invalid=True).skipped == 3


def test_paper_errors() -> None:
    errors = _errors(BAD / "paper_bad.json")
    assert errors == [
        (1, "tools", "neither JSON nor a Python literal"),
        (2, "query[1].role", "unknown role 'bot'"),
        (3, "answers[1].name", "call has no function name"),
    ]


def test_a_broken_json_list_fails_as_a_whole_even_when_skipping() -> None:
    with pytest.raises(HammerError, match=r"broken_list.json: not valid JSON: .*line 2") as err:
        read_examples(BAD / "broken_list.json", "xlam", skip_invalid=True)
    assert err.value.record is None


def test_wrong_shapes(tmp_path: Path) -> None:
    path = tmp_path / "shapes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [[1, 2], {"query": "q"}, {"query": 3, "tools": "[]"}]))
    assert _errors(path, "xlam") == [
        (0, None, "record must be a JSON object, got list"),
        (1, "tools", "missing"),
        (2, "query", "must be a list, got int"),
    ]


def test_errors_are_capped_but_the_count_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("{oops\n" * 50 + json.dumps({"query": "q", "tools": "[]", "answers": "[]"}) + "\n")
    result = read_examples(path, "xlam", skip_invalid=True)
    assert (len(result.examples), result.skipped, len(result.errors)) == (1, 50, 20)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": "p", "completion": "c"}, "prepared training set"),
        ({"instruction": "i", "input": "", "output": "o"}, "write-only"),
        ({"text": "hello"}, "cannot detect the format from a record with keys: text"),
        ([1, 2], "the first record is a list"),
    ],
)
def test_undetectable_files(tmp_path: Path, record: object, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")  # JSON Lines
    with pytest.raises(HammerError, match=message):
        detect_format(path)


def test_missing_empty_and_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="no such file"):
        read_examples(tmp_path / "nope.json")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(HammerError, match="holds no records"):
        read_examples(tmp_path / "empty.jsonl")
    assert read_examples(tmp_path / "empty.jsonl", "openai").examples == []
    with pytest.raises(HammerError, match="cannot read format 'alpaca'"):
        read_examples(tmp_path / "empty.jsonl", "alpaca")


def test_one_pretty_printed_object_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}], "tools": []}, indent=2))
    result = read_examples(path)
    assert (result.format, len(result.examples)) == ("openai", 1)
