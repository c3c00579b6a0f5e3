"""BFCL multi-turn read as one single-turn example per turn: every turn, answerable, the
conversation so far as context, held-out functions shown only from the turn that delivers them."""

from __future__ import annotations

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples
from hammer_fc.formats.bfcl_multi_turn import parse_call, turn_examples
from hammer_fc.schema import ToolCall

SORT = {"sort": {"name": "sort", "parameters": {"properties": {"file_name": {}, "reverse": {}}}}}


def test_every_turn_of_every_category_is_an_answerable_example():
    result = read_examples("bfcl:multi_turn")
    assert result.skipped == 0
    by_category: dict[str, int] = {}
    for example in result.examples:
        by_category[example.meta["category"]] = by_category.get(example.meta["category"], 0) + 1
        tools = {t.name: t for t in example.tools}
        assert len(tools) == len(example.tools)
        for call in example.calls:
            assert call.name in tools, example.id
            assert set(call.arguments) <= {p.name for p in tools[call.name].params}, example.id
    # the turn counts of BFCL v4's four multi-turn files
    assert by_category == {
        "multi_turn_base": 734,
        "multi_turn_miss_func": 934,
        "multi_turn_miss_param": 934,
        "multi_turn_long_context": 734,
    }
    multi = sum(len(e.calls) >= 2 for e in result.examples)
    assert multi > 900  # the point of reading them: real multi-call answers


def test_a_turn_sees_the_earlier_turns_and_their_gold_calls():
    turns = [
        e for e in read_examples("bfcl:multi_turn_base").examples if e.id.startswith("multi_turn_base_0:")
    ]
    assert [e.id for e in turns] == [f"multi_turn_base_0:turn{t}" for t in range(4)]
    first, second = turns[0], turns[1]
    assert [m.role for m in first.messages] == ["user"]
    assert [c.name for c in first.calls] == ["cd", "mkdir", "mv"]
    assert [m.role for m in second.messages] == ["user", "assistant", "user"]
    assert second.messages[1].tool_calls == first.calls
    assert second.calls == [
        ToolCall("cd", {"folder": "temp"}),
        ToolCall("grep", {"file_name": "final_report.pdf", "pattern": "budget analysis"}),
    ]
    assert turns[2].calls == [ToolCall("sort", {"file_name": "final_report.pdf"})]  # positional


def test_a_held_out_function_appears_from_the_turn_that_delivers_it():
    turns = [
        e
        for e in read_examples("bfcl:multi_turn_miss_func").examples
        if e.id.startswith("multi_turn_miss_func_0:")
    ]
    names = [{t.name for t in e.tools} for e in turns]
    assert "sort" not in names[2] and turns[2].calls == []  # asked for, not yet offered: no call
    assert "sort" in names[3] and turns[3].calls == [ToolCall("sort", {"file_name": "final_report.pdf"})]
    assert turns[3].messages[-1].role == "user"  # the delivering turn has no message of its own


def test_call_strings_are_parsed_or_a_clear_error():
    assert parse_call("sort('a.txt', reverse=True)", SORT) == ToolCall(
        "sort", {"file_name": "a.txt", "reverse": True}
    )
    for bad, message in (
        ("sort(", "cannot read"),
        ("os.sort('a')", "plain function name"),
        ("grep('a')", "not one of"),
        ("sort('a', True, 3)", "positional"),
        ("sort(file_name=open('x'))", "cannot read"),
    ):
        with pytest.raises(HammerError, match=message):
            parse_call(bad, SORT)


def test_a_malformed_conversation_is_a_located_error():
    record = {"id": "x", "question": [[{"role": "user", "content": "q"}]], "involved_classes": ["Nope"]}
    with pytest.raises(HammerError, match="unknown API class"):
        turn_examples(record, {"ground_truth": [[]]}, {}, "multi_turn_base")
    record["involved_classes"] = []
    with pytest.raises(HammerError, match="ground-truth turns"):
        turn_examples(record, {"ground_truth": [[], []]}, {}, "multi_turn_base")
