"""Every single-turn BFCL v4 category, loaded from the installed ``bfcl-eval`` package."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples
from hammer_fc.formats.bfcl import (
    BFCL_CATEGORIES,
    BFCL_LIVE,
    BFCL_NON_LIVE,
    bfcl_categories,
    first_acceptable,
    load_bfcl,
)
from hammer_fc.schema import ToolCall
from hammer_fc.schema.params import tool_to_function


def _jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize("category", BFCL_CATEGORIES)
def test_every_category_loads_with_its_answers(category: str, bfcl_data_dir: Path) -> None:
    entries = _jsonl(bfcl_data_dir / f"BFCL_v4_{category}.json")
    examples = load_bfcl(category)
    assert [e.id for e in examples] == [entry["id"] for entry in entries]
    answer_file = bfcl_data_dir / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = {a["id"]: a["ground_truth"] for a in _jsonl(answer_file)} if answer_file.is_file() else {}
    for example, entry in zip(examples, entries, strict=True):
        assert example.meta["source"] == "bfcl" and example.meta["category"] == category
        assert example.meta["functions"] == entry["function"]
        assert [t.name for t in example.tools] == [f["name"] for f in entry["function"]]
        assert len(example.messages) == sum(len(turn) for turn in entry["question"])
        if category in ("irrelevance", "live_irrelevance"):
            assert example.calls == [] and example.meta["ground_truth"] is None
        elif category == "live_relevance":
            assert example.calls is None
        else:
            ground_truth = answers[example.id]
            assert example.meta["ground_truth"] == ground_truth
            assert example.calls is not None
            assert [c.name for c in example.calls] == [next(iter(g)) for g in ground_truth]
    expected_language = {"simple_java": "java", "simple_javascript": "javascript"}.get(category, "python")
    assert {e.meta["language"] for e in examples} == {expected_language}


def test_gold_calls_take_the_first_acceptable_value() -> None:
    [first] = [e for e in load_bfcl("simple_python") if e.id == "simple_python_0"]
    # ground truth: {"base": [10], "height": [5], "unit": ["units", ""]}
    assert first.calls == [ToolCall("calculate_triangle_area", {"base": 10, "height": 5, "unit": "units"})]
    [hypot] = [e for e in load_bfcl("simple_python") if e.id == "simple_python_2"]
    assert hypot.calls == [ToolCall("math.hypot", {"x": 4, "y": 5})]  # "z": ["", 0] -> left out


def test_nested_dict_answers_and_empty_acceptable_lists() -> None:
    assert first_acceptable(
        [{"department": ["Science"], "school": ["Bluebird High School", "Bluebird HS"]}]
    ) == {
        "department": "Science",
        "school": "Bluebird High School",
    }
    assert first_acceptable(
        [[{"field": ["age"], "value": ["25", ""]}, {"field": ["job"], "value": [""]}]]
    ) == [
        {"field": "age", "value": "25"},
        {"field": "job"},
    ]
    assert first_acceptable([]) == []
    [record] = [e for e in load_bfcl("live_simple") if e.id == "live_simple_112-68-0"]
    assert record.calls is not None
    assert record.calls[0].arguments["acc_routing_start"] == []
    assert record.calls[0].arguments["outofscope"] == ["what is the weather like"]


def test_system_and_assistant_turns_are_kept() -> None:
    roles = {m.role for e in load_bfcl("live_irrelevance") for m in e.messages}
    assert roles == {"system", "user", "assistant"}


def test_specs_and_groups(bfcl_data_dir: Path) -> None:
    assert bfcl_categories("live") == BFCL_LIVE and bfcl_categories("non_live") == BFCL_NON_LIVE
    result = read_examples("bfcl:live", check=False)
    assert result.format == "bfcl" and result.skipped == 0
    assert len(result.examples) == sum(len(_jsonl(bfcl_data_dir / f"BFCL_v4_{c}.json")) for c in BFCL_LIVE)
    # Two live answers pass an argument their function does not declare (BFCL's own possible
    # answers require it): not training data.
    checked = read_examples("bfcl:live", skip_invalid=True)
    assert checked.skipped_kinds == {"unknown argument": 2}
    assert sorted(e.record for e in checked.errors) == ["live_multiple_862-181-3", "live_multiple_964-207-0"]
    assert len(checked.examples) == len(result.examples) - 2
    with pytest.raises(HammerError, match="unknown BFCL category 'multi_turn_nope'"):
        read_examples("bfcl:multi_turn_nope")  # multi_turn_base and its kin: tests/test_bfcl_multi_turn.py


def test_a_bfcl_file_path_gets_its_answers(bfcl_data_dir: Path) -> None:
    result = read_examples(bfcl_data_dir / "BFCL_v4_parallel.json")
    assert result.format == "bfcl" and len(result.examples) == 200
    assert all(e.calls and e.meta["ground_truth"] for e in result.examples)


def test_a_copied_bfcl_file_without_answers_has_no_gold(bfcl_data_dir: Path, tmp_path: Path) -> None:
    lines = (bfcl_data_dir / "BFCL_v4_simple_java.json").read_text().splitlines()[:3]
    (tmp_path / "BFCL_v4_simple_java.json").write_text("\n".join(lines))
    examples = read_examples(tmp_path / "BFCL_v4_simple_java.json").examples
    assert [e.calls for e in examples] == [None, None, None]


def test_answers_are_matched_by_id(bfcl_data_dir: Path, tmp_path: Path) -> None:
    lines = (bfcl_data_dir / "BFCL_v4_simple_python.json").read_text().splitlines()[:2]
    answers = (bfcl_data_dir / "possible_answer" / "BFCL_v4_simple_python.json").read_text().splitlines()[1:2]
    (tmp_path / "possible_answer").mkdir()
    (tmp_path / "BFCL_v4_simple_python.json").write_text("\n".join(lines))
    (tmp_path / "possible_answer" / "BFCL_v4_simple_python.json").write_text("\n".join(answers))
    with pytest.raises(HammerError) as err:
        read_examples(tmp_path / "BFCL_v4_simple_python.json")
    assert (err.value.record, err.value.field) == (0, "id")
    result = read_examples(tmp_path / "BFCL_v4_simple_python.json", skip_invalid=True)
    assert [e.id for e in result.examples] == ["simple_python_1"] and result.skipped == 1


def test_a_multi_turn_file_is_refused(bfcl_data_dir: Path) -> None:
    with pytest.raises(HammerError, match="not a single-turn BFCL category"):
        read_examples(bfcl_data_dir / "BFCL_v4_multi_turn_base.json", "bfcl")


@pytest.mark.parametrize("category", BFCL_CATEGORIES)
def test_language_hints_match_bfcl_loader(category: str) -> None:
    """The tools a model is shown equal what BFCL's own loader shows, for every case."""
    from bfcl_eval.utils import _func_doc_language_specific_pre_processing as official

    for example in load_bfcl(category):
        expected = official(copy.deepcopy(example.meta["functions"]), category)
        assert [tool_to_function(t, "bfcl") for t in example.tools] == expected, example.id


UNANSWERABLE = {
    # BFCL's reader turns every element of an ArrayList<any> into a string; the answer holds ints
    "simple_java_36": "type_error:java",
    "simple_java_65": "type_error:java",
    # the answer's nested dict lists a value where the checker wants a list of acceptable values
    "simple_java_64": "value_error:dict_value",
    # required arrays whose answer lists no acceptable value at all
    "live_simple_106-63-0": "type_error:simple",
    "live_simple_112-68-0": "type_error:simple",
    # answers that contradict their function doc (a required parameter with no value, a parameter
    # the doc does not have)
    "live_multiple_507-149-4": "simple_function_checker:missing_required",
    "live_multiple_964-207-0": "simple_function_checker:missing_required",
    "live_multiple_862-181-3": "simple_function_checker:unexpected_param",
}
"""The BFCL cases no answer can pass: the official checker rejects their own possible answers."""


@pytest.mark.parametrize("category", [c for c in BFCL_CATEGORIES if c != "live_relevance"])
def test_every_gold_answer_passes_the_checker(category: str) -> None:
    """What a model trained on the gold calls learns to write is what the leaderboard accepts:
    Java and JavaScript values as the source strings BFCL reads back, required parameters
    present, undeclared ones left out."""
    from hammer_fc.eval.bfcl_ast import check_bfcl, to_bfcl_calls

    failed = {}
    for example in load_bfcl(category):
        meta = example.meta
        verdict = check_bfcl(category, meta["functions"], meta["ground_truth"], to_bfcl_calls(example.calls))
        if not verdict.valid:
            failed[example.id] = verdict.error_type
    assert failed == {k: v for k, v in UNANSWERABLE.items() if k.rsplit("_", 1)[0] == category}


def test_java_and_javascript_gold_values_are_source_strings() -> None:
    java = {e.id: e.calls for e in load_bfcl("simple_java")}
    assert java["simple_java_1"] == [
        ToolCall(
            "SQLCompletionAnalyzer.makeProposalsFromObject",
            {
                "object": "Customers",
                "useShortName": "true",
                "params": "new HashMap<String, Object>() "
                '{{ put("limit", 50); put("schemaFilter", "public"); }}',
            },
        )
    ]
    js = {e.id: e.calls for e in load_bfcl("simple_javascript")}
    status = js["simple_javascript_2"][0].arguments["status"]
    assert status == '["completed", "failed"]'


@pytest.mark.parametrize("language", ["java", "javascript"])
def test_python_cases_rendered_as_java_or_javascript_are_cases_of_that_language(language: str) -> None:
    """``bfcl:live_simple@java``: the translated docs shown as BFCL's own loader shows a Java
    case, the gold values as source strings, and every gold answer passing BFCL's checker in
    that language; the few that cannot be written so are skipped and counted, not kept wrong."""
    from bfcl_eval.utils import _func_doc_language_specific_pre_processing as official

    from hammer_fc.eval.bfcl_ast import check_bfcl, to_bfcl_calls

    category = "simple_java" if language == "java" else "simple_javascript"  # the loader's rule
    result = read_examples(f"bfcl:live_simple@{language}", skip_invalid=True)
    python = load_bfcl("live_simple")
    assert len(result.examples) + result.skipped == len(python)
    # lists of strings with no acceptable value or no source string BFCL reads back as them
    assert result.skipped_kinds == {"not renderable in the language": 5}
    assert sorted(e.record for e in result.errors) == [106, 111, 112, 165, 189]
    for example in result.examples:
        meta = example.meta
        assert meta["category"] == f"live_simple@{language}" and meta["language"] == language
        assert [tool_to_function(t, "bfcl") for t in example.tools] == official(
            copy.deepcopy(meta["functions"]), category
        ), example.id
        assert all(p.type == "string" for t in example.tools for p in t.params)
        assert all(isinstance(v, str) for c in example.calls for v in c.arguments.values())
        verdict = check_bfcl(
            "live_simple",
            meta["functions"],
            meta["ground_truth"],
            to_bfcl_calls(example.calls),
            language=language,
        )
        assert verdict.valid, (example.id, verdict.error_type)
    by_id = {e.id: e for e in result.examples}
    source = next(
        e for e in python if any(isinstance(v, bool) for c in e.calls for v in c.arguments.values())
    )
    rendered = by_id[source.id].calls[0].arguments
    for name, value in source.calls[0].arguments.items():
        if isinstance(value, bool):
            assert rendered[name] == str(value).lower()  # true / false, as both languages write it


def test_rendering_needs_a_python_category_and_a_known_language() -> None:
    with pytest.raises(HammerError, match="only Python categories"):
        read_examples("bfcl:simple_java@javascript")
    with pytest.raises(HammerError, match="cannot render BFCL cases as 'rust'"):
        read_examples("bfcl:live@rust")
    with pytest.raises(HammerError, match="unknown BFCL category"):
        read_examples("bfcl:nonsense@java")
