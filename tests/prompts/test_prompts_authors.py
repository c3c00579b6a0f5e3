"""The authors' templates against their own files (shared/data/hammer-authors), every row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import read_examples
from hammer_fc.formats.xlam import example_from_xlam
from hammer_fc.prepare.convert import convert_file
from hammer_fc.prompts import TEMPLATES, get_template
from hammer_fc.prompts.chat_format import ChatFormat, render_case
from hammer_fc.schema import Example, Message, ToolCall
from helpers.shared_data import AUTHORS_DATA as AUTHORS
from helpers.shared_data import TOOLALPACA as ORIGINAL

pytestmark = pytest.mark.skipif(not ORIGINAL.is_file(), reason="the authors' samples are not here")


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_every_registered_template_renders_a_plain_example() -> None:
    example = Example(
        messages=[Message("user", "Weather in Lyon?")],
        tools=read_examples(ORIGINAL, "paper").examples[0].tools,
        calls=[ToolCall("f", {"x": 1})],
    )
    for name, template in TEMPLATES.items():
        assert template.prompt(example), name
        assert template.completion(example.calls or []), name


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(HammerError, match="unknown prompt template 'authors-3'"):
        get_template("authors-3")


@pytest.mark.parametrize("index", range(10))
def test_sft_rows_byte_identical(index: int) -> None:
    """Each row of their masking_sft_data_example.json, rebuilt from its own tools, answer and
    query as an xLAM record, renders to exactly the row (masked and unmasked rows alike)."""
    row = json.loads((AUTHORS / "train/masking_sft_data_example.json").read_text())[index]
    instruction = row["instruction"]
    record = {
        "query": _between(instruction, "[BEGIN OF QUERY]\n", "\n[END OF QUERY]\n\n"),
        "tools": _between(instruction, "[BEGIN OF AVAILABLE TOOLS]\n", "\n[END OF AVAILABLE TOOLS]"),
        "answers": row["output"].removeprefix("```\n").removesuffix("\n```"),
    }
    example = example_from_xlam(record, index, Path("row.json"))
    template = get_template("authors-sft")
    assert template.prompt(example) == instruction
    assert template.completion(example.calls or []) == row["output"]
    assert row["input"] == ""


@pytest.mark.parametrize(("template", "folder"), [("authors-1.0", "hammer"), ("authors-2.1", "hammer2.1")])
def test_convert_reproduces_the_authors_test_file(tmp_path: Path, template: str, folder: str) -> None:
    """`hammer data convert ORIGINAL --to alpaca --template T` writes their file, record by record."""
    out = tmp_path / "out.json"
    written = convert_file(ORIGINAL, out, to_fmt="alpaca", template=template).written
    ours = json.loads(out.read_text())
    theirs = json.loads((AUTHORS / f"test/{folder}/toolalpaca.json").read_text())
    assert written == len(theirs) == 114
    mismatched = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert mismatched == []


def test_template_only_for_alpaca_output(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="alpaca output only"):
        convert_file(ORIGINAL, tmp_path / "x.json", to_fmt="xlam", template="authors-1.0")
    with pytest.raises(HammerError, match="unknown prompt template"):
        convert_file(ORIGINAL, tmp_path / "x.json", to_fmt="alpaca", template="nope")
    assert not (tmp_path / "x.json").exists()


def test_renamed_tools_fall_back_to_their_xlam_dicts() -> None:
    """A tool no longer the file's own object (masked, renamed) is shown from the Tool itself."""
    example = read_examples(ORIGINAL, "paper").examples[0]
    renamed = Example(
        messages=example.messages,
        tools=[type(t)(**{**t.__dict__, "name": f"x{i}"}) for i, t in enumerate(example.tools)],
        calls=example.calls,
        meta=example.meta,
    )
    tools = json.loads(_between(get_template("authors-2.1").prompt(renamed), "TOOLS]\n", "\n[END"))
    assert [t["name"] for t in tools] == [f"x{i}" for i in range(len(example.tools))]


def _apibank() -> Example:
    """An API-Bank-like case (turn list with agent / assistant+tool turns, a backtick)."""
    record = {
        "query": [
            {"role": "user", "content": "Check my token."},
            {"role": "agent", "content": "Sure, let me check."},
            {"role": "assistant", "content": "[GetToken(user='a')]"},
            {"role": "tool", "content": "{'token': 'x'}"},
            {"role": "user", "content": "Thanks\u00e9.\nGenerate API Request:"},
        ],
        "tools": "[{'name': 'GetToken', 'description': 'User`s token.', 'parameters': "
        "{'user': {'type': 'str', 'description': 'Name.'}}, 'return': {'token': {'type': 'str'}}}]",
        "answers": [{"name": "GetToken", "arguments": {"user": "a"}}],
    }
    from hammer_fc.formats.paper import example_from_paper

    return example_from_paper(record, 263, Path("apibank_l1.json"))


def test_apibank_rules_10_and_21() -> None:
    example = _apibank()
    p10 = get_template("authors-1.0").prompt(example)
    assert "User\\`s token." in p10 and '"return": {"token": {"type": "str"}}' in p10
    assert (
        "[BEGIN OF QUERY]\nUser: Check my token.\nAI: Sure, let me check. \n"
        "API-Request: [GetToken(user='a')]->{'token': 'x'}\nUser: Thanks\u00e9.\nGenerate API Request:\n\n"
        "[END OF QUERY]\n\n"
    ) in p10
    p21 = get_template("authors-2.1").prompt(example)
    assert "User`s token." in p21 and "\\`" not in p21
    assert p21.endswith(
        "<|im_end|>\n<|im_start|>user\nCheck my token.<|im_end|>\n"
        "<|im_start|>agent\nSure, let me check.<|im_end|>\n"
        "<|im_start|>assistant\n[GetToken(user='a')]<|im_end|>\n<|im_start|>tool\n{'token': 'x'}<|im_end|>\n"
        "<|im_start|>user\nThanks\u00e9.<|im_end|>\n"
    )


def test_sealtool_rules_10() -> None:
    from hammer_fc.formats.paper import example_from_paper

    record = {
        "query": "Find it.",
        "tools": "[{'name': 'find', 'description': 'Find.', 'parameters': {'a': {'type': 'str', "
        "'description': 'A.', 'required': True}, 'b': {'type': 'int', 'description': 'B'}}, "
        "'required': ['a']}]",
        "answers": [{"tool": "find", "parameters": {"a": "x"}}],
    }
    example = example_from_paper(record, 0, Path("sealtool.json"))
    tools = json.loads(_between(get_template("authors-1.0").prompt(example), "TOOLS]\n", "\n[END"))
    assert tools == [
        {
            "name": "find",
            "description": "Find.",
            "parameters": {
                "a": {"type": "str", "description": "A..Required is true."},
                "b": {"type": "int", "description": "B.Required is false."},
            },
        }
    ]
    p21 = get_template("authors-2.1").prompt(example)
    assert '"required": ["a"]' in p21
    assert get_template("authors-1.0").completion(example.calls or []) == (
        '```\n[{"name": "find", "arguments": {"a": "x"}}]\n```'
    )


def test_models_are_sent_the_qwen_templates() -> None:
    example = read_examples(ORIGINAL, "paper").examples[0]
    plain = ChatFormat(template=None)
    system = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    for name in ("authors-sft", "authors-1.0"):
        text = render_case(example, name, plain)
        assert text.startswith(system + "<|im_start|>user\n")
        assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    text = render_case(example, "authors-2.1", plain)
    assert text.startswith(system + "<|im_start|>user\n[BEGIN")
    assert text.endswith("China?<|im_end|>\n<|im_start|>assistant\n")


def test_chat_messages_render_to_the_qwen_text_in_chatml() -> None:
    """What the openai backend sends: under a ChatML chat template, exactly the authors' text."""
    from hammer_fc.prompts import authors

    def chatml(messages: list[dict[str, str]]) -> str:
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + "<|im_start|>assistant\n"

    for example in (read_examples(ORIGINAL, "paper").examples[3], _apibank()):
        for name in ("authors-sft", "authors-1.0"):
            template = get_template(name)
            assert chatml(authors.chat_messages(example, name)) == template.wrap(template.prompt(example))
    example = read_examples(ORIGINAL, "paper").examples[3]
    template = get_template("authors-2.1")
    assert chatml(authors.chat_messages(example, "authors-2.1")) == template.wrap(template.prompt(example))
    roles = [m["role"] for m in authors.chat_messages(_apibank(), "authors-2.1")]
    assert roles == ["system", "user", "user", "assistant", "assistant", "tool", "user"]  # agent -> assistant
