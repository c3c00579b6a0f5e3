"""BFCL multi-turn as single-turn training examples: one example per turn.

BFCL's multi-turn categories (``base``, ``miss_func``, ``miss_param``, ``long_context``; 200
conversations each) drive executable API classes (a file system, a trading bot, ...) through
several user turns, with a ground-truth list of call strings per turn (``mv(source='a',
destination='b')``, positional arguments allowed). They are real multi-call data: a turn
often needs several calls. Each turn becomes one example:

* the messages: the conversation so far (earlier user turns, each followed by the assistant
  turn carrying its gold calls), then the turn's own user message(s). BFCL executes the calls
  and shows their results; we have no results to show, so the context holds the calls only;
* the tools: the functions of the conversation's classes, less ``excluded_function``; in
  ``miss_func`` a held-out function appears only from the turn that delivers it (that turn has
  no user message: the model is to do the previous request now that it can), as BFCL does
  (one gold, ``miss_func_49``, calls a held function two turns early: a function a turn's gold
  calls is shown from that turn on);
* the answer: the turn's calls, parsed with Python's ``ast`` (positional arguments named from
  the function doc's parameter order); a turn whose gold is empty (the function or a parameter
  is missing) answers ``[]``.

A model trained on these cannot be judged on BFCL multi-turn: say so with its results.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import HammerError
from hammer_fc.formats.records import message_from_turn, require_dict, require_list
from hammer_fc.schema import Example, Message, ToolCall
from hammer_fc.schema.params import tool_from_function

MULTI_TURN_CATEGORIES = (
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
MULTI_TURN_GROUP = "multi_turn"


def is_multi_turn_spec(spec: str) -> bool:
    return spec == MULTI_TURN_GROUP or spec in MULTI_TURN_CATEGORIES


def _class_docs(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every API class's function docs, by class name (BFCL's own mapping of class to file)."""
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    docs = {}
    for name, file in MULTI_TURN_FUNC_DOC_FILE_MAPPING.items():
        path = data_dir / "multi_turn_func_doc" / file
        docs[name] = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return docs


def parse_call(text: str, functions: dict[str, dict[str, Any]]) -> ToolCall:
    """One ground-truth call string -> :class:`ToolCall`; positional arguments take the names of
    the function doc's parameters in order."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise ValueError("not a call of a plain function name")
        name = node.func.id
        if name not in functions:
            raise ValueError(f"{name!r} is not one of the conversation's functions")
        params = list(functions[name].get("parameters", {}).get("properties", {}))
        if len(node.args) > len(params):
            raise ValueError(f"{len(node.args)} positional arguments for {len(params)} parameters")
        arguments = {params[i]: ast.literal_eval(arg) for i, arg in enumerate(node.args)}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ValueError("a **mapping argument")
            arguments[keyword.arg] = ast.literal_eval(keyword.value)
    except (SyntaxError, ValueError) as err:
        raise HammerError(f"cannot read the call {text!r}: {err}", field="ground_truth") from None
    return ToolCall(name, arguments)


def turn_examples(
    record: Any, answer: Any, docs: dict[str, list[dict[str, Any]]], category: str
) -> list[Example]:
    """One conversation (and its ground truth) -> one example per turn."""
    record, answer = require_dict(record), require_dict(answer)
    question = require_list(record.get("question"), "question")
    truth = require_list(answer.get("ground_truth"), "ground_truth")
    if len(truth) != len(question):
        raise HammerError(f"{len(truth)} ground-truth turns for {len(question)} turns", field="ground_truth")
    classes = require_list(record.get("involved_classes"), "involved_classes")
    unknown = [c for c in classes if c not in docs]
    if unknown:
        raise HammerError(f"unknown API class(es) {unknown}", field="involved_classes")
    excluded = set(record.get("excluded_function") or ())
    functions = [f for c in classes for f in docs[c] if f["name"] not in excluded]
    by_name = {f["name"]: f for f in functions}
    held = {name for names in (record.get("missed_function") or {}).values() for name in names}
    missed = {int(t): names for t, names in (record.get("missed_function") or {}).items()}
    shown = {f["name"]: f for f in functions if f["name"] not in held}
    messages: list[Message] = []
    examples = []
    for t, turn in enumerate(question):
        shown.update((name, by_name[name]) for name in missed.get(t, ()) if name in by_name)
        turn_messages = require_list(turn, f"question[{t}]")
        messages += [message_from_turn(m, f"question[{t}][{k}]") for k, m in enumerate(turn_messages)]
        calls = [parse_call(text, by_name) for text in require_list(truth[t], f"ground_truth[{t}]")]
        shown.update((c.name, by_name[c.name]) for c in calls)
        examples.append(
            Example(
                messages=list(messages),
                tools=[tool_from_function(f, path=name) for name, f in shown.items()],
                calls=calls,
                id=f"{record.get('id', '')}:turn{t}",
                meta={"source": "bfcl", "category": category, "turn": t, "language": "python"},
            )
        )
        if calls:
            messages.append(Message("assistant", "", tool_calls=calls))
    return examples


def read_multi_turn(category: str, data_dir: Path) -> Iterator[Example | HammerError]:
    """Every turn of one multi-turn category as an example; a bad conversation is one located
    error (its turns are skipped together)."""
    path = data_dir / f"BFCL_v4_{category}.json"
    answers_path = data_dir / "possible_answer" / path.name
    answers = {}
    for line in answers_path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            answers[str(entry.get("id"))] = entry
    docs = _class_docs(data_dir)
    for index, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            answer = answers.get(str(require_dict(record).get("id")))
            if answer is None:
                raise HammerError("no ground truth with this id", field="id")
            yield from turn_examples(record, answer, docs, category)
        except (HammerError, json.JSONDecodeError) as err:
            error = err if isinstance(err, HammerError) else HammerError(f"not JSON: {err}")
            yield error.located(file=str(path), record=index)


def iter_multi_turn(spec: str, data_dir: Path | None = None) -> Iterator[Example | HammerError]:
    """``multi_turn`` (all four categories) or one of them, turn by turn."""
    from hammer_fc.formats.bfcl import bfcl_data_dir

    categories = MULTI_TURN_CATEGORIES if spec == MULTI_TURN_GROUP else (spec,)
    for category in categories:
        yield from read_multi_turn(category, Path(data_dir or bfcl_data_dir()))
