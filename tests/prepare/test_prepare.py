"""``hammer data prepare``: the fast writer gives the plain renderer's bytes, and the output keeps
the method's promises (answerable masks, plain names kept, ratio, per-epoch redraws, line counts)."""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hammer_fc.augment.epochs import example_rng, iter_epoch
from hammer_fc.augment.masking import ALPHABET, FUNCTION_NAME_LENGTH, PARAM_NAME_LENGTH, dedup_tools
from hammer_fc.cli import app
from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples
from hammer_fc.prepare.render import iter_lines, write_prepared
from hammer_fc.prepare.run import load_examples, prepare, with_irrelevance
from hammer_fc.prompts.training import render_completion
from hammer_fc.schema import Example, Message, Param, Tool, ToolCall
from helpers.xlam_strategies import LAYOUTS, to_examples, write_dataset, xlam_dataset

TOOLS_START, TOOLS_END = "[BEGIN OF AVAILABLE TOOLS]\n", "\n[END OF AVAILABLE TOOLS]"
_CHARS = f"[{re.escape(ALPHABET)}]"
MASKED_FUNCTION = re.compile(f"{_CHARS}{{{FUNCTION_NAME_LENGTH[0]},{FUNCTION_NAME_LENGTH[1]}}}")
MASKED_PARAM = re.compile(f"{_CHARS}{{{PARAM_NAME_LENGTH[0]},{PARAM_NAME_LENGTH[1]}}}")


def parse_line(line: bytes) -> tuple[dict, list[dict], list[dict]]:
    """(record, the prompt's tool list, the completion's calls)."""
    record = orjson.loads(line)
    prompt = record.get("prompt", record.get("instruction"))
    completion = record.get("completion", record.get("output"))
    tools = json.loads(prompt[prompt.index(TOOLS_START) + len(TOOLS_START) : prompt.index(TOOLS_END)])
    assert completion.startswith("```\n") and completion.endswith("\n```")
    return record, tools, json.loads(completion[4:-4])


def synthetic(n: int) -> list[Example]:
    """Plain examples, each with three tools and one call."""
    examples = []
    for i in range(n):
        tools = [
            Tool(f"tool_{i}_{k}", f"Tool {k}.", [Param("alpha", "string"), Param("beta", "integer")])
            for k in range(3)
        ]
        call = ToolCall(f"tool_{i}_1", {"alpha": "x", "beta": i})
        examples.append(
            Example(messages=[Message("user", f"query {i}")], tools=tools, calls=[call], id=str(i))
        )
    return examples


@settings(max_examples=25, deadline=None)
@given(
    xlam_dataset(min_size=1, max_size=12),
    st.integers(1, 3),
    st.sampled_from([0.0, 0.33, 0.67, 1.0]),
    st.sampled_from([0.0, 0.5]),
    st.integers(0, 2**16),
    st.sampled_from(["prompt-completion", "alpaca"]),
    st.sampled_from(LAYOUTS),
)
def test_fast_writer_gives_the_plain_renderers_bytes(records, epochs, ratio, share, seed, fmt, layout):
    options = {"epochs": epochs, "mask_ratio": ratio, "seed": seed}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(records, Path(tmp) / "data.json", layout)
        out = Path(tmp) / "out.jsonl"
        answered = [e for e in read_examples(data).examples if e.calls is not None]
        options["skip_invalid"] = True  # records without answers: left out, counted
        if not answered:
            with pytest.raises(HammerError, match="no usable example"):
                prepare([data], out, **options)
            return
        del options["skip_invalid"]
        try:
            plain = with_irrelevance(answered, share, seed=seed)
        except HammerError:
            return  # a share no input can give (tested in test_irrelevance)
        expected = b"".join(iter_lines(plain, fmt=fmt, **options))
        prepare([data], out, add_irrelevance=share, out_format=fmt, skip_invalid=True, **options)
        assert out.read_bytes() == expected
        for workers, block in ((2, 1), (3, 2)):  # several processes, many rounds
            write_prepared(plain, out, fmt=fmt, workers=workers, block=block, **options)
            assert out.read_bytes() == expected
        if share == 0:  # two files read by the workers themselves, block by block
            twice = b"".join(iter_lines(answered * 2, fmt=fmt, **options))
            prepare([data, data], out, out_format=fmt, workers=2, block=3, skip_invalid=True, **options)
            assert out.read_bytes() == twice


@settings(max_examples=40, deadline=None)
@given(xlam_dataset(min_size=1, max_size=10))
def test_the_shared_tool_xlam_reader_reads_what_the_xlam_reader_reads(records):
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(records, Path(tmp) / "data.json")
        examples, (source,) = load_examples([data], skip_invalid=True)
        expected = read_examples(data).examples
        assert examples == [e for e in expected if e.calls is not None]
        unanswered = len(expected) - len(examples)
        assert source.examples == len(examples)
        assert source.skipped_kinds == (Counter({"missing answer": unanswered}) if unanswered else Counter())


@settings(max_examples=40, deadline=None)
@given(xlam_dataset(min_size=1, max_size=10), st.integers(0, 2**16))
def test_masked_lines_are_answerable_and_plain_lines_keep_their_names(records, seed):
    examples = [e for e in to_examples(records) if e.calls is not None]
    lines = list(iter_lines(examples, epochs=2, mask_ratio=0.5, seed=seed))
    assert len(lines) == 2 * len(examples)
    for k, line in enumerate(lines):
        record, tools, calls = parse_line(line)
        example = examples[k % len(examples)]
        offered = {tool["name"]: tool for tool in tools}
        assert len(offered) == len(tools)
        for call in calls:
            assert call["name"] in offered
            assert set(call["arguments"]) <= set(offered[call["name"]]["parameters"])
        assert record["irrelevant"] == (example.calls == [])
        if record["masked"]:  # every name freshly drawn (an accidental hit: < 1e-6 a run)
            assert not set(offered) & {t.name for t in example.tools}
            for tool in tools:
                assert MASKED_FUNCTION.fullmatch(tool["name"]), tool["name"]
                assert all(MASKED_PARAM.fullmatch(p) for p in tool["parameters"]), tool["parameters"]
            originals = sorted(len(t.params) for t in dedup_tools(example.tools))
            assert sorted(len(t["parameters"]) for t in tools) == originals
        else:
            assert sorted(offered) == sorted(t.name for t in dedup_tools(example.tools))
            assert record["completion"] == render_completion(example.calls)


def test_masking_ratio_is_the_share_of_masked_examples():
    examples = synthetic(3000)
    for ratio in (0.0, 0.33, 0.67, 1.0):
        masked = sum(m for _, m in iter_epoch(examples, 0, mask_ratio=ratio, seed=1))
        assert abs(masked / len(examples) - ratio) < 0.03


def test_each_epoch_draws_its_own_masking_and_epochs_are_independent_of_the_rest():
    examples = synthetic(300)
    epochs = [list(iter_epoch(examples, e, mask_ratio=0.5, seed=4)) for e in range(3)]
    flags = [[m for _, m in epoch] for epoch in epochs]
    assert flags[0] != flags[1] != flags[2]
    both = [i for i in range(len(examples)) if flags[0][i] and flags[1][i]]
    assert both and all(epochs[0][i][0].tools != epochs[1][i][0].tools for i in both)
    # an example's view depends on (seed, epoch, index) only, not on the examples around it
    assert list(iter_epoch(examples[:50], 1, mask_ratio=0.5, seed=4)) == epochs[1][:50]
    assert list(iter_epoch(examples, 1, mask_ratio=0.5, seed=4)) == epochs[1]
    assert list(iter_epoch(examples, 1, mask_ratio=0.5, seed=5)) != epochs[1]


def test_plain_views_take_every_tool_order_about_equally_often():
    """The order of a plain view comes from the line's 64-bit key, not from a seeded stream."""
    counts = Counter(tuple(example_rng(7, 1, i).order(3)) for i in range(6000))
    assert len(counts) == 6 and all(abs(c - 1000) < 150 for c in counts.values())
    assert example_rng(7, 1, 5).key != example_rng(7, 2, 5).key != example_rng(8, 1, 5).key


def _xlam(tmp_path: Path, records: list[dict], name: str = "data.json") -> Path:
    return write_dataset(records, tmp_path / name)


def _record(i: int, answers: str | None = None) -> dict:
    tools = [
        {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {"city": {"type": "str", "description": "City."}},
        },
        {
            "name": "get_time",
            "description": "Time.",
            "parameters": {"zone": {"type": "str", "description": "Zone."}},
        },
    ]
    record = {"id": i, "query": f"Weather in Lyon #{i}?", "tools": json.dumps(tools)}
    record["answers"] = (
        json.dumps([{"name": "get_weather", "arguments": {"city": "Lyon"}}]) if answers is None else answers
    )
    return record


def test_the_command_writes_epochs_times_inputs_lines_and_a_summary(tmp_path):
    data = _xlam(tmp_path, [_record(i) for i in range(20)])
    out = tmp_path / "out.jsonl"
    args = [
        "data",
        "prepare",
        str(data),
        "--epochs",
        "3",
        "--mask-ratio",
        "0.5",
        "--seed",
        "2",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(out.read_bytes().splitlines()) == 60
    assert "lines written" in result.output and "60 = 3 x 20" in result.output
    result = CliRunner().invoke(app, [*args[:-2], "--add-irrelevance", "0.25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [parse_line(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 3 * 25
    for record, tools, calls in lines:
        if record["irrelevant"]:
            assert calls == [] and record["completion"] == "```\n[]\n```"
            assert len(tools) == 1 and (record["masked"] or tools[0]["name"] == "get_time")


def test_alpaca_records_carry_the_same_prompt_and_answer(tmp_path):
    data = _xlam(tmp_path, [_record(i) for i in range(5)])
    plain, alpaca = tmp_path / "plain.jsonl", tmp_path / "alpaca.jsonl"
    prepare([data], plain, epochs=2, seed=1)
    prepare([data], alpaca, epochs=2, seed=1, out_format="alpaca")
    for a, b in zip(plain.read_bytes().splitlines(), alpaca.read_bytes().splitlines(), strict=True):
        a, b = orjson.loads(a), orjson.loads(b)
        assert b == {"instruction": a["prompt"], "input": "", "output": a["completion"]}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bad_records_stop_the_run_or_are_skipped_and_counted(tmp_path, layout):
    records = [
        _record(0),
        _record(1, answers="[{"),
        _record(2),
        {"query": "no tools"},
        _record(4, answers=None),
    ]
    del records[4]["answers"]  # no gold answer: nothing to train on
    data = write_dataset(records, tmp_path / "data.json", layout)
    parallel = {"workers": 2, "block": 2}  # the records are parsed and converted in the workers
    with pytest.raises(HammerError) as err:
        prepare([data], tmp_path / "out.jsonl", **parallel)
    assert str(err.value).startswith(f"{data}: record 1: field 'answers'")
    assert not (tmp_path / "out.jsonl").exists()
    result = prepare([data], tmp_path / "out.jsonl", skip_invalid=True, **parallel)
    (source,) = result.sources
    assert (source.examples, source.skipped) == (2, 3)
    assert source.skipped_kinds == {"malformed": 2, "missing answer": 1}
    assert result.written.lines == 2


def test_clear_errors_for_bad_options_and_empty_input(tmp_path):
    data = _xlam(tmp_path, [_record(0)])
    out = tmp_path / "out.jsonl"
    for options, message in (
        ({"epochs": 0}, "epochs"),
        ({"mask_ratio": 1.5}, "masking ratio"),
        ({"add_irrelevance": -1}, "irrelevance"),
        ({"out_format": "csv"}, "output format"),
    ):
        with pytest.raises(HammerError, match=message):
            prepare([data], out, **options)
    unanswered = _xlam(tmp_path, [{"query": "q", "tools": "[]"}], "unanswered.json")
    with pytest.raises(HammerError, match="record 0: field 'answers': has no gold answer"):
        prepare([unanswered], out)
    with pytest.raises(HammerError, match="no usable example"):
        prepare([unanswered], out, skip_invalid=True)


def test_worker_count_does_not_change_the_output(tmp_path):
    examples = synthetic(120)
    outputs = []
    for workers, block in ((1, 4096), (2, 7), (2, 50)):
        path = tmp_path / f"out{workers}_{block}.jsonl"
        stats = write_prepared(examples, path, epochs=3, mask_ratio=0.4, seed=9, workers=workers, block=block)
        assert stats.workers == workers and stats.lines == 360
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0] == b"".join(iter_lines(examples, epochs=3, mask_ratio=0.4, seed=9))


def test_the_seed_decides_the_output_and_the_global_random_state_is_untouched():
    examples = synthetic(50)
    state = random.getstate()
    a = b"".join(iter_lines(with_irrelevance(examples, 0.2, seed=1), epochs=1, mask_ratio=0.5, seed=1))
    assert random.getstate() == state
    assert a == b"".join(
        iter_lines(with_irrelevance(examples, 0.2, seed=1), epochs=1, mask_ratio=0.5, seed=1)
    )
    assert a != b"".join(
        iter_lines(with_irrelevance(examples, 0.2, seed=2), epochs=1, mask_ratio=0.5, seed=2)
    )


def test_text_that_looks_like_a_probe_is_rendered_the_slow_way(tmp_path):
    tricky = "\x00F\x00 and \x00P0\x00 and \x00S0\x00 and %s"
    tool = Tool("f", tricky, [Param("p", "string", tricky, default=tricky)])
    call = ToolCall("f", {"p": tricky})
    examples = [Example(messages=[Message("user", tricky)], tools=[tool, Tool("g")], calls=[call])] * 30
    out = tmp_path / "out.jsonl"
    write_prepared(examples, out, epochs=2, mask_ratio=0.7, seed=3)
    assert out.read_bytes() == b"".join(iter_lines(examples, epochs=2, mask_ratio=0.7, seed=3))


def test_a_line_that_is_not_json_is_located_when_the_workers_parse(tmp_path):
    data = write_dataset([_record(i) for i in range(4)], tmp_path / "data.jsonl", "jsonl")
    lines = data.read_text().splitlines()
    lines[2] = lines[2][:-5]  # cut short
    data.write_text("\n".join(lines) + "\n")
    parallel = {"workers": 2, "block": 1}
    with pytest.raises(HammerError, match=rf"^{data}: record 2: not valid JSON"):
        prepare([data], tmp_path / "out.jsonl", **parallel)
    result = prepare([data], tmp_path / "out.jsonl", skip_invalid=True, **parallel)
    assert (result.sources[0].examples, result.sources[0].skipped) == (3, 1)
