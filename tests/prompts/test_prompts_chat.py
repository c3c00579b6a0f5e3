"""The Hammer 2.x chat rendering against the real BFCL handler, byte for byte.

The handler module pulls in every model handler's dependencies; the ones missing here
(``overrides``, ``tree_sitter``, ``tenacity`` ...) are stubbed in ``sys.modules`` for the import
only. ``_format_prompt`` itself needs none of them.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import sys
import types
from pathlib import Path
from unittest import mock

import pytest

from hammer_fc.formats.bfcl import BFCL_CATEGORIES
from hammer_fc.prompts import chat_messages, render_chat, render_completion
from hammer_fc.schema import Example, Message, Tool, ToolCall
from hammer_fc.schema.params import tool_from_function

SINGLE_TURN = list(BFCL_CATEGORIES)

# ChatML as Qwen2.5 / Hammer 2.x apply it when the conversation starts with a system turn.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclasses.dataclass
class Reference:
    format_prompt: types.FunctionType
    system_to_user: types.FunctionType
    language_hint: types.FunctionType


@pytest.fixture(scope="module")
def reference() -> Reference:
    """bfcl_eval's HammerHandler._format_prompt and the preprocessing BFCL applies before it."""
    overrides = types.ModuleType("overrides")
    overrides.override = overrides.final = lambda f: f
    overrides.EnforceOverrides = type("EnforceOverrides", (), {})
    with mock.patch.dict(sys.modules):
        if importlib.util.find_spec("overrides") is None:
            sys.modules["overrides"] = overrides
        for _ in range(50):
            try:
                from bfcl_eval.model_handler.local_inference.hammer import HammerHandler
                from bfcl_eval.model_handler.utils import convert_system_prompt_into_user_prompt
                from bfcl_eval.utils import _func_doc_language_specific_pre_processing

                break
            except ModuleNotFoundError as missing:
                assert missing.name and not missing.name.startswith("bfcl_eval"), missing
                sys.modules[missing.name] = mock.MagicMock()
        handler = HammerHandler.__new__(HammerHandler)  # __init__ would start an HTTP client
    return Reference(
        handler._format_prompt,
        convert_system_prompt_into_user_prompt,
        _func_doc_language_specific_pre_processing,
    )


def load_entries(data_dir: Path, category: str) -> list[dict]:
    with open(data_dir / f"BFCL_v4_{category}.json", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def example_from(entry: dict, functions: list[dict]) -> Example:
    messages = [Message(role=m["role"], content=m["content"]) for m in entry["question"][0]]
    return Example(messages=messages, tools=[tool_from_function(f) for f in functions], id=entry["id"])


def expected(reference: Reference, entry: dict, functions: list[dict]) -> str:
    # The handler mutates what it is given: hand it copies.
    messages = reference.system_to_user(copy.deepcopy(entry["question"][0]))
    return reference.format_prompt(messages, copy.deepcopy(functions))


@pytest.mark.parametrize("category", SINGLE_TURN)
def test_byte_identical_to_handler(reference: Reference, bfcl_data_dir: Path, category: str) -> None:
    """Every case of the category, with the docs as stored and as BFCL's loader hints them."""
    entries = load_entries(bfcl_data_dir, category)
    assert entries
    for entry in entries:
        hinted = reference.language_hint(copy.deepcopy(entry["function"]), category)
        for functions in (entry["function"], hinted):
            ours = render_chat(example_from(entry, functions))
            assert ours == expected(reference, entry, functions), entry["id"]


def _rename_doc(doc: dict, new_name: str, params: dict[str, str]) -> dict:
    """Rename a BFCL doc's function and top-level parameters by hand, keeping key order."""
    doc = copy.deepcopy(doc)
    doc["name"] = new_name
    props = doc["parameters"]["properties"]
    doc["parameters"]["properties"] = {params.get(k, k): v for k, v in props.items()}
    doc["parameters"]["required"] = [params.get(k, k) for k in doc["parameters"].get("required", [])]
    return doc


def _rename_tool(tool: Tool, new_name: str, params: dict[str, str]) -> Tool:
    renamed = [dataclasses.replace(p, name=params.get(p.name, p.name)) for p in tool.params]
    return dataclasses.replace(tool, name=new_name, params=renamed)


def test_renamed_tools_render_as_the_handler_would(reference: Reference, bfcl_data_dir: Path) -> None:
    """Masking renames Tool objects; the rendering must equal the handler's on the renamed docs."""
    entries = load_entries(bfcl_data_dir, "live_multiple")[:40] + load_entries(bfcl_data_dir, "parallel")[:20]
    for entry in entries:
        example = example_from(entry, entry["function"])
        docs, tools = [], []
        for i, (doc, tool) in enumerate(zip(entry["function"], example.tools, strict=True)):
            params = {p.name: f"p{i}_{j}.X" for j, p in enumerate(tool.params)}
            docs.append(_rename_doc(doc, f"fn_{i}.Zq", params))
            tools.append(_rename_tool(tool, f"fn_{i}.Zq", params))
        ours = render_chat(dataclasses.replace(example, tools=tools))
        assert ours == expected(reference, entry, docs), entry["id"]
        assert "fn_0.Zq" in ours


def test_conversation_turns_follow_the_instruction_turn(reference: Reference, bfcl_data_dir: Path) -> None:
    entry = load_entries(bfcl_data_dir, "simple_python")[0]
    calls = [ToolCall("calculate_triangle_area", {"base": 10, "height": 5})]
    example = example_from(entry, entry["function"])
    example.messages += [
        Message(role="assistant", tool_calls=calls),
        Message(role="tool", content="25.0"),
        Message(role="user", content="And in square feet?"),
    ]
    turns = [
        *entry["question"][0],
        {"role": "assistant", "content": render_completion(calls)},
        {"role": "tool", "content": "25.0"},
        {"role": "user", "content": "And in square feet?"},
    ]
    assert render_chat(example) == reference.format_prompt(turns, copy.deepcopy(entry["function"]))


def test_system_turns_become_user_turns(bfcl_data_dir: Path) -> None:
    entry = next(
        e for e in load_entries(bfcl_data_dir, "live_irrelevance") if e["question"][0][0]["role"] == "system"
    )
    messages = chat_messages(example_from(entry, entry["function"]))
    assert [m["role"] for m in messages[:3]] == ["system", "user", "user"]
    assert messages[0]["content"] == "You are a helpful assistant."
    assert messages[2]["content"] == entry["question"][0][0]["content"]


def test_chat_messages_through_a_chatml_template_give_render_chat(bfcl_data_dir: Path) -> None:
    """What an OpenAI-compatible server renders from chat_messages is the handler's text."""
    from transformers.utils.chat_template_utils import render_jinja_template

    for category in ("live_simple", "live_irrelevance", "multiple"):
        for entry in load_entries(bfcl_data_dir, category)[:10]:
            example = example_from(entry, entry["function"])
            rendered, _ = render_jinja_template(
                conversations=[chat_messages(example)], chat_template=CHATML, add_generation_prompt=True
            )
            assert rendered[0] == render_chat(example), entry["id"]
