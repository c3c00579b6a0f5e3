"""BFCL v4 single-turn categories, read straight from the installed ``bfcl-eval`` package.

``BFCL_v4_<category>.json`` (JSONL: ``{"id", "question": [[turns]], "function": [docs]}``) joined
by id with ``possible_answer/BFCL_v4_<category>.json`` (``{"id", "ground_truth": [{name: {param:
[acceptable values]}}]}``). The gold calls take the *first* acceptable value of each parameter,
``""`` meaning "leave it out"; inside a dict value each key lists its acceptable values the same
way, and an empty list of acceptable values (a handful of ``live_simple`` array parameters) is read
as the empty array. Where an answer contradicts its function doc, the doc wins: a required
parameter is not left out, an undeclared one is. In Java and JavaScript the gold value is the
source string BFCL reads back as the acceptable value (``"true"``, ``"50L"``, ``new HashMap...``:
:mod:`.bfcl_typed`), which is what a model must write. Every gold answer then passes the BFCL
checker, except 8 cases whose own possible answers it rejects (tests/test_formats_bfcl.py).
Irrelevance categories have no answer file: the gold answer is no call (``[]``);
``live_relevance`` accepts any call (``calls=None``). The raw function docs and the full
possible-answer list stay in ``meta`` for the BFCL checker, which needs every acceptable value.

The tools the model is shown carry BFCL's language hints, as the leaderboard's own loader adds
them before any model sees a case (``bfcl_eval.utils.load_dataset_entry``): every description
gains "Note that the provided function is in Python 3 syntax." (or Java 8 SDK / JavaScript), and
in the Java and JavaScript categories every parameter becomes a ``string`` whose description says
which type to write in string form. The checker judges against the raw docs, as BFCL's does.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hammer_fc.errors import NOT_RENDERABLE, HammerError
from hammer_fc.formats import bfcl_typed
from hammer_fc.formats.bfcl_languages import split_language, translate_docs
from hammer_fc.formats.bfcl_typed import Language
from hammer_fc.formats.records import iter_records, message_from_turn, require_dict, require_list
from hammer_fc.schema import Example, Message, ToolCall
from hammer_fc.schema.params import tool_from_function

BFCL_NON_LIVE = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
)
BFCL_LIVE = (
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
)
BFCL_CATEGORIES = BFCL_NON_LIVE + BFCL_LIVE
"""Every single-turn AST category (formats.md §3)."""
BFCL_GROUPS: dict[str, tuple[str, ...]] = {
    "all": BFCL_CATEGORIES,
    "non_live": BFCL_NON_LIVE,
    "live": BFCL_LIVE,
}
NO_CALL_CATEGORIES = frozenset({"irrelevance", "live_irrelevance"})
ANY_CALL_CATEGORIES = frozenset({"live_relevance"})
_PREFIX = "BFCL_v4_"


def bfcl_data_dir() -> Path:
    """``bfcl_eval/data`` of the installed package."""
    try:
        return Path(str(importlib.resources.files("bfcl_eval") / "data"))
    except ModuleNotFoundError:
        raise HammerError(
            "BFCL data needs: pip install --no-deps bfcl-eval==2026.3.23", field="bfcl"
        ) from None


def bfcl_categories(spec: str) -> tuple[str, ...]:
    """A category name or a group (``all``, ``live``, ``non_live``) -> categories."""
    if spec in BFCL_GROUPS:
        return BFCL_GROUPS[spec]
    if spec in BFCL_CATEGORIES:
        return (spec,)
    known = ", ".join((*BFCL_GROUPS, *BFCL_CATEGORIES))
    raise HammerError(
        f"unknown BFCL category {spec!r} (single-turn categories and groups: {known})", field="bfcl"
    )


def language_of(category: str) -> Language:
    """The language whose type rules judge a category (BFCL reads it off the name)."""
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def first_acceptable(values: Any) -> Any:
    """The gold value of one parameter from its acceptable-value list (see module doc)."""
    if not isinstance(values, list):
        return _resolve_nested(values)
    return _resolve_nested(values[0]) if values else []


def _resolve_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in ((k, first_acceptable(vs)) for k, vs in value.items()) if v != ""}
    if isinstance(value, list):
        return [_resolve_nested(v) for v in value]
    return value


def calls_from_ground_truth(
    ground_truth: Any,
    field: str = "ground_truth",
    *,
    functions: list[Any] | None = None,
    language: Language = "python",
) -> list[ToolCall]:
    """The gold calls (``functions``: the raw docs, for required parameters and declared types);
    in Java and JavaScript each argument written as the source string BFCL reads back as an
    acceptable value."""
    calls = []
    docs = {f.get("name"): f for f in functions or [] if isinstance(f, dict)}
    for i, entry in enumerate(require_list(ground_truth, field)):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise HammerError("each answer must be {function_name: {param: [values]}}", field=f"{field}[{i}]")
        ((name, params),) = entry.items()
        if not isinstance(params, dict):
            raise HammerError("parameters must be an object", field=f"{field}[{i}].{name}")
        schema = docs.get(name, {}).get("parameters", {})
        schema = schema if isinstance(schema, dict) else {}
        required, specs = set(schema.get("required", ())), schema.get("properties", {})
        options = {p: _fitting(v, p in required, not docs or p in specs) for p, v in params.items()}
        if language == "python":
            arguments = {p: first_acceptable(v) for p, v in options.items()}
        else:
            arguments = {p: _typed_gold(v, specs.get(p), language) for p, v in options.items()}
        calls.append(ToolCall(name=name, arguments={p: v for p, v in arguments.items() if v != ""}))
    return calls


def _fitting(options: Any, required: bool, declared: bool) -> Any:
    """The acceptable values that fit the function doc: a required parameter without ``""``
    ("may be left out"), a parameter the doc does not declare left out where allowed. A few BFCL
    answers list them the other way round; the checker fails a call that follows them."""
    if not isinstance(options, list) or "" not in options:
        return options
    if not declared:
        return [""]
    if required and any(o != "" for o in options):
        return [o for o in options if o != ""]
    return options


def _typed_gold(options: Any, spec: Any, language: Language) -> Any:
    """The first acceptable value that can be written as a source string BFCL reads back as it,
    written so; the first acceptable value as it is when none can (BFCL then judges the gold
    answer wrong too: it happens for values its reader cannot produce)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        return first_acceptable(options)
    declared = spec["type"]
    items = spec.get("items")
    item = (
        items.get("type") if declared in bfcl_typed.LIST_TYPES[language] and isinstance(items, dict) else None
    )
    write = bfcl_typed.java_source if language == "java" else bfcl_typed.js_source
    for option in options if isinstance(options, list) else [options]:
        if option == "":
            continue
        text = write(_resolve_nested(option), declared, item)
        if text is not None:
            return text
    return first_acceptable(options)


def _messages(question: Any) -> list[Message]:
    turns = require_list(question, "question")
    messages = []
    for t, turn in enumerate(turns):
        for m, message in enumerate(require_list(turn, f"question[{t}]")):
            messages.append(message_from_turn(message, f"question[{t}][{m}]"))
    if not messages:
        raise HammerError("the question is empty", field="question")
    return messages


_HINTS = {
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
    "python": " Note that the provided function is in Python 3 syntax.",
}
_LANGUAGE_NAMES = {"java": "Java", "javascript": "JavaScript"}


def with_language_hints(functions: list[Any], category: str, language: Language | None = None) -> list[Any]:
    """The function docs as BFCL shows them to a model (see module doc); the input is not
    changed. ``language`` overrides the one read off the category name."""
    language = language or language_of(category)
    hinted = copy.deepcopy(functions)
    for doc in hinted:
        if not isinstance(doc, dict) or not isinstance(doc.get("description"), str):
            continue
        doc["description"] += _HINTS[language]
        if language == "python":
            continue
        properties = (doc.get("parameters") or {}).get("properties") or {}
        for spec in properties.values():
            _stringify_typed_param(spec, _LANGUAGE_NAMES[language])
    return hinted


def _stringify_typed_param(spec: dict[str, Any], language: str) -> None:
    """Java/JavaScript: the value is written as source code in a string; say which type it is."""
    ptype = spec.get("type")
    if ptype == "any":
        spec["description"] += (
            f" This parameter can be of any type of {language} object in string representation."
        )
    else:
        spec["description"] += f" This is {language} {ptype} type parameter in string representation."
    list_types = ("ArrayList", "Array") if language == "Java" else ("array",)
    if ptype in list_types:
        spec["description"] += (
            f" The list elements are of type {spec['items']['type']}; they are not in string representation."
        )
        del spec["items"]
    if language == "JavaScript" and ptype == "dict" and "properties" in spec:
        spec["description"] += (
            " The dictionary entries have the following schema; they are not in string representation. "
            + json.dumps(spec["properties"])
        )
        del spec["properties"]
    spec["type"] = "string"


def example_from_bfcl(
    record: Any,
    category: str,
    answer: dict[str, Any] | None,
    *,
    language_hints: bool = True,
    rendered_as: Language | None = None,
) -> Example:
    """One BFCL entry (and its possible-answer entry, if any) -> Example; ``rendered_as``: a
    Python case shown and answered as a Java or JavaScript one (:mod:`.bfcl_languages`)."""
    record = require_dict(record)
    functions = require_list(record.get("function"), "function")
    language = language_of(category)
    if rendered_as is not None:
        if language != "python":
            raise HammerError(
                f"only Python cases are rendered as another language, not {category}", field="bfcl"
            )
        functions, language = translate_docs(functions, rendered_as), rendered_as
    shown = with_language_hints(functions, category, language) if language_hints else functions
    ground_truth = None if answer is None else answer.get("ground_truth")
    if category in NO_CALL_CATEGORIES:
        calls: list[ToolCall] | None = []
    elif category in ANY_CALL_CATEGORIES or ground_truth is None:
        calls = None
    else:
        calls = calls_from_ground_truth(ground_truth, functions=functions, language=language)
        if rendered_as is not None:
            _check_rendered(calls, rendered_as)
    return Example(
        messages=_messages(record.get("question")),
        tools=[tool_from_function(f, path=f"function[{i}]") for i, f in enumerate(shown)],
        calls=calls,
        id=str(record.get("id", "")),
        meta={
            "source": "bfcl",
            "category": category if rendered_as is None else f"{category}@{rendered_as}",
            "functions": functions,
            "ground_truth": ground_truth,
            "language": language,
        },
    )


def _check_rendered(calls: list[ToolCall], language: Language) -> None:
    """A rendered case whose gold value no source string reads back as (a few live answers list
    no acceptable value, or values BFCL's reader cannot produce) would teach a wrong answer:
    refused, so that the reader skips and counts it."""
    for call in calls:
        for name, value in call.arguments.items():
            if not isinstance(value, str):
                raise HammerError(
                    f"no {language} source string reads back as the gold value {value!r}",
                    field=f"ground_truth.{call.name}.{name}",
                    kind=NOT_RENDERABLE,
                )


def category_of(path: Path) -> str:
    """``.../BFCL_v4_live_simple.json`` -> ``live_simple`` (single-turn categories only)."""
    category = path.stem.removeprefix(_PREFIX)
    if category not in BFCL_CATEGORIES:
        raise HammerError(
            f"not a single-turn BFCL category file (expected {_PREFIX}<category>.json with one of: "
            f"{', '.join(BFCL_CATEGORIES)})",
            file=str(path),
        )
    return category


def _answers(path: Path) -> dict[str, dict[str, Any]] | None:
    """Possible answers by id, from ``possible_answer/<same name>`` next to the file, if present."""
    answer_path = path.parent / "possible_answer" / path.name
    if not answer_path.is_file():
        return None
    answers: dict[str, dict[str, Any]] = {}
    for index, entry in iter_records(answer_path):
        if isinstance(entry, HammerError):
            raise entry
        if not isinstance(entry, dict) or "id" not in entry:
            raise HammerError("a possible answer needs an id", file=str(answer_path), record=index)
        answers[str(entry["id"])] = entry
    return answers


def read_bfcl(path: Path, rendered_as: Language | None = None) -> Iterator[Example | HammerError]:
    """A BFCL category file (its category from the file name), possible answers attached;
    ``rendered_as`` as in :func:`example_from_bfcl`."""
    category = category_of(path)
    answers = _answers(path)
    for index, record in iter_records(path):
        if isinstance(record, HammerError):
            yield record
            continue
        try:
            answer = None
            if answers is not None and category not in NO_CALL_CATEGORIES | ANY_CALL_CATEGORIES:
                answer = answers.get(str(require_dict(record).get("id")))
                if answer is None:
                    raise HammerError("no possible answer with this id", field="id")
            yield example_from_bfcl(record, category, answer, rendered_as=rendered_as)
        except HammerError as err:
            yield err.located(file=str(path), record=index)


def bfcl_file(category: str, data_dir: Path | None = None) -> Path:
    return Path(data_dir or bfcl_data_dir()) / f"{_PREFIX}{category}.json"


def load_bfcl(category: str, *, data_dir: Path | None = None) -> list[Example]:
    """Every case of one single-turn category (see module doc); raises on a malformed case."""
    bfcl_categories(category)  # validates the name
    if category in BFCL_GROUPS:
        raise HammerError(f"{category!r} is a group: load its categories one by one", field="bfcl")
    examples = []
    for item in read_bfcl(bfcl_file(category, data_dir)):
        if isinstance(item, HammerError):
            raise item
        examples.append(item)
    return examples


def iter_bfcl(spec: str, *, data_dir: Path | None = None) -> Iterator[Example | HammerError]:
    """``live_simple`` or a group (``live``): every case, category by category; with
    ``@java`` or ``@javascript`` (``live@java``) its Python cases rendered as that language's
    (:mod:`.bfcl_languages`)."""
    base, language = split_language(spec)
    categories = bfcl_categories(base)
    if language is not None and any(language_of(c) != "python" for c in categories):
        raise HammerError(
            f"only Python categories are rendered as {language}: {base!r} has others", field="bfcl"
        )
    for category in categories:
        yield from read_bfcl(bfcl_file(category, data_dir), rendered_as=language)
