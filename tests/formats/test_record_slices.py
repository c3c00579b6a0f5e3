"""Cutting a data file into records without parsing it (what lets the prepare workers parse in
parallel): the cuts give exactly the records a whole parse gives, or say they cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.formats import read_examples
from hammer_fc.formats.records import LineRecords, RecordSlices, SplitError, iter_records, slice_records
from hammer_fc.prepare.render import iter_lines
from hammer_fc.prepare.run import prepare
from helpers.xlam_strategies import write_dataset

RECORDS = [
    {"id": i, "query": f"q{i} {{\n [", "tools": json.dumps([{"name": f"f{i}", "parameters": {}}])}
    for i in range(7)
]


@pytest.mark.parametrize("layout", ["compact", "indent", "tabs", "jsonl"])
def test_every_range_of_a_cut_file_parses_to_the_records_a_whole_parse_gives(tmp_path, layout):
    path = write_dataset(RECORDS, tmp_path / "data.json", layout)
    cut = slice_records(path)
    assert isinstance(cut, LineRecords if layout == "jsonl" else RecordSlices)
    whole = list(iter_records(path))
    assert len(cut) == len(whole) == 7
    for lo in range(7):
        for hi in range(lo + 1, 10):
            assert cut.parse(lo, hi) == whole[lo:hi]


def test_a_file_that_cannot_be_cut_cheaply_is_left_to_the_whole_parse(tmp_path):
    (tmp_path / "empty.json").write_text("[\n]\n")
    assert slice_records(tmp_path / "empty.json") is None
    (tmp_path / "pretty.jsonl").write_text(json.dumps(RECORDS[0], indent=2))  # one object, many lines
    assert slice_records(tmp_path / "pretty.jsonl") is None


def odd_layout(path: Path) -> Path:
    """A JSON list whose records hold objects laid out at the records' own indentation: the cut
    finds record starts that are not, and parsing must say so."""
    lines = [json.dumps({**r, "tools": json.loads(r["tools"])}) for r in RECORDS]
    text = "[\n " + ",\n ".join(line.replace('"tools": [', '"tools": [\n ') for line in lines) + "\n]\n"
    path.write_text(text)
    return path


@pytest.mark.parametrize("indent", [None, 1])
def test_records_holding_objects_are_read_right_whatever_the_cut(tmp_path, indent):
    """Tools as a list of objects (not a JSON string): on one line "}, {" also separates them."""
    records = [{**r, "tools": json.loads(r["tools"]) * 2, "answers": "[]"} for r in RECORDS]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(records, indent=indent))
    cut = slice_records(path)
    assert cut is not None
    try:
        parsed = cut.parse(0, len(cut))
    except SplitError:
        parsed = None
    assert parsed in (None, list(iter_records(path)))
    options = {"epochs": 2, "mask_ratio": 0.5, "seed": 3}
    expected = b"".join(iter_lines(read_examples(path).examples, **options))
    prepare([path], tmp_path / "out.jsonl", workers=2, block=2, **options)
    assert (tmp_path / "out.jsonl").read_bytes() == expected


def test_a_wrong_cut_raises_and_prepare_falls_back_to_the_whole_parse(tmp_path):
    odd = odd_layout(tmp_path / "odd.json")
    cut = slice_records(odd)
    assert isinstance(cut, RecordSlices) and len(cut) == 14  # every tool object looks like a record
    with pytest.raises(SplitError):
        cut.parse(0, 2)
    compact = write_dataset([{**r, "answers": "[]"} for r in RECORDS], tmp_path / "compact.json", "compact")
    odd = odd_layout(tmp_path / "odd.json")
    text = odd.read_text().replace('"tools": [\n {', '"answers": "[]", "tools": [\n {')
    odd.write_text(text)
    options = {"epochs": 2, "mask_ratio": 0.5, "seed": 3, "workers": 2, "block": 2}
    prepare([compact], tmp_path / "a.jsonl", **options)
    prepare([odd], tmp_path / "b.jsonl", **options)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
