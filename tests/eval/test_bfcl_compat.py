"""Our BFCL judge against the official one, on thousands of generated outputs per category.

The official runner (``eval_runner._evaluate_single_ast_entry`` / ``_evaluate_single_relevance_entry``
with ``ast_checker`` behind them) and the official Hammer decoder are imported from the installed
``bfcl-eval`` with their heavy model-handler imports replaced by small fakes, only for the
duration of this module. Outputs are generated deterministically from real BFCL cases and
their possible answers: right answers, then mutations of them (wrong values and types,
missing and extra parameters, wrong names, reordered / dropped / duplicated parallel calls,
string noise that BFCL ignores and noise it does not, int-for-float, nested list and dict
edits, Java/JS source strings in several spellings) and malformed outputs. Verdicts must agree
on ``valid`` and on ``error_type``.
"""

from __future__ import annotations

import copy
import csv
import importlib
import json
import math
import random
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hammer_fc.eval.bfcl_ast import (
    AST_CATEGORIES,
    RELEVANCE_CATEGORIES,
    check_bfcl,
    decode_hammer,
    language_of,
)
from hammer_fc.eval.bfcl_summary import bfcl_summary

SEED = 20260323
OUTPUTS_PER_CATEGORY = 2400
MAX_CASES = 100
HAMMER_MODEL = "hammer_test"  # BFCL turns "_" into "/" to look the model up
DOTS_MODEL = "dots_test"
UNDECODABLE = object()  # a decoded output standing for "the handler's decoder raised"


# --- the official code, with its import chain stubbed ---------------------------------------


class _Passthrough:
    """A handler whose 'decoding' hands over an already-decoded output (or fails)."""

    def decode_ast(self, result: Any, language: Any, has_tool_call_tag: bool) -> Any:
        if result is UNDECODABLE:
            raise ValueError("undecodable")
        return result


def _stub(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Iterator[types.SimpleNamespace]:
    """The official runner pieces and Hammer decoder, importable once the model-handler chain
    (API SDKs, tree-sitter, dotenv) is faked; every ``bfcl_eval`` module imported here is
    dropped again afterwards so no other test sees the fakes."""
    configs = {
        name.replace("_", "/"): types.SimpleNamespace(
            underscore_to_dot=dots,
            display_name=name,
            url="",
            org="",
            license="",
            input_price=None,
            output_price=None,
        )
        for name, dots in ((HAMMER_MODEL, False), (DOTS_MODEL, True))
    }
    stubs = {
        "bfcl_eval.constants.model_config": _stub(
            "bfcl_eval.constants.model_config", MODEL_CONFIG_MAPPING=configs
        ),
        "bfcl_eval.model_handler.base_handler": _stub(
            "bfcl_eval.model_handler.base_handler", BaseHandler=object
        ),
        "bfcl_eval.model_handler.utils": _stub(
            "bfcl_eval.model_handler.utils",
            parse_prompt_variation_params=None,
            convert_system_prompt_into_user_prompt=None,
        ),
        "bfcl_eval.model_handler.local_inference.base_oss_handler": _stub(
            "bfcl_eval.model_handler.local_inference.base_oss_handler", OSSHandler=object
        ),
        "dotenv": _stub("dotenv", load_dotenv=None),
        "overrides": _stub("overrides", override=lambda function: function),
    }
    touched = [name for name in sys.modules if name.startswith("bfcl_eval") or name in stubs]
    saved = {name: sys.modules.pop(name) for name in touched}
    with pytest.MonkeyPatch.context() as patch:
        # bfcl-eval creates result/score folders under its project root on import.
        patch.setenv("BFCL_PROJECT_ROOT", str(tmp_path_factory.mktemp("bfcl_root")))
        sys.modules.update(stubs)
        try:
            runner = importlib.import_module("bfcl_eval.eval_checker.eval_runner")
            helper = importlib.import_module("bfcl_eval.eval_checker.eval_runner_helper")
            hammer = importlib.import_module("bfcl_eval.model_handler.local_inference.hammer")
            enums = importlib.import_module("bfcl_eval.constants.enums")
            yield types.SimpleNamespace(
                ast_entry=runner._evaluate_single_ast_entry,
                relevance_entry=runner._evaluate_single_relevance_entry,
                leaderboard_csv=helper.generate_leaderboard_csv,
                hammer=hammer.HammerHandler.__new__(hammer.HammerHandler),
                passthrough=_Passthrough(),
                language=enums.Language,
                return_format=enums.ReturnFormat,
            )
        finally:
            for name in [name for name in sys.modules if name.startswith("bfcl_eval") or name in stubs]:
                del sys.modules[name]
            sys.modules.update(saved)


def _official_verdict(official: types.SimpleNamespace, category: str, case: dict, output: Any, model: str):
    handler = official.hammer if isinstance(output, str) else official.passthrough
    if category in RELEVANCE_CATEGORIES:
        result = official.relevance_entry(handler, case["id"], output, case["entry"], model, category)
    else:
        language = language_of(category)
        result = official.ast_entry(
            handler,
            case["id"],
            output,
            case["ground_truth"],
            case["entry"],
            model,
            category,
            language=official.language(language),
            return_format=official.return_format(language),
        )
    return result["valid"], result.get("error_type", "")


# --- the cases --------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


SCALAR_TYPES = {"string", "integer", "float", "boolean", "any", "String", "Boolean"}


def _is_rare(entry: dict, answer: dict | None) -> bool:
    """Does the case exercise a rule that few cases reach (collections, optional lists,
    variables, ground-truth parameters the function does not declare)?"""
    if answer is None:
        return False
    docs = {function["name"]: function for function in entry["function"]}
    for expected in answer["ground_truth"]:
        for name, acceptable in expected.items():
            properties = docs[name]["parameters"].get("properties", {})
            for param, options in acceptable.items():
                declared = properties.get(param, {}).get("type")
                values = [option for option in options if option != ""]
                if declared not in SCALAR_TYPES or None in values:
                    return True
                if any(type(value) is not type(values[0]) for value in values):
                    return True
    return False


def _cases(data_dir: Path, category: str, rng: random.Random) -> list[dict]:
    """Up to MAX_CASES cases: the rare ones first (up to 60 %), the rest drawn at random."""
    entries = _read_jsonl(data_dir / f"BFCL_v4_{category}.json")
    answers_path = data_dir / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = _read_jsonl(answers_path) if answers_path.exists() else [None] * len(entries)
    rare = [i for i in range(len(entries)) if _is_rare(entries[i], answers[i])]
    chosen = set(rng.sample(rare, min(len(rare), MAX_CASES * 6 // 10)))
    rest = [i for i in range(len(entries)) if i not in chosen]
    chosen.update(rng.sample(rest, min(len(rest), MAX_CASES - len(chosen))))
    chosen = sorted(chosen)
    return [
        {
            "id": entries[i]["id"],
            "entry": entries[i],
            "functions": entries[i]["function"],
            "ground_truth": answers[i]["ground_truth"] if answers[i] else None,
        }
        for i in chosen
    ]


# --- generating outputs -----------------------------------------------------------------------

IGNORED_PUNCTUATION = " ,./-_*^"


def _noisy(text: str, rng: random.Random) -> str:
    """Change a string, sometimes in a way BFCL's standardisation forgives, sometimes not."""
    at = rng.randint(0, len(text))
    kind = rng.randrange(9)
    if kind == 0:
        return text.upper()
    if kind == 1:
        return text.title()
    if kind == 2:
        return text[:at] + rng.choice(IGNORED_PUNCTUATION) + text[at:]
    if kind == 3:
        return text.replace(" ", "")
    if kind == 4:
        return text.replace("'", '"') if "'" in text else text + "'"
    if kind == 5:
        return text[:at] + rng.choice("!?;:()é") + text[at:]
    if kind == 6:
        return text + rng.choice([" x", "0", "s"])
    if kind == 7:
        return text[:-1]
    return f'"{text}"' if rng.random() < 0.5 else f"'{text}'"


def _mutate_value(value: Any, rng: random.Random) -> Any:
    """A near miss of ``value``: another value, another type, or a changed element."""
    if value is None:
        return rng.choice([0, "None", "", False])
    if type(value) is bool:
        return rng.choice([not value, int(value), str(value).lower(), None])
    if type(value) is int:
        return rng.choice([value + 1, value - 1, float(value), str(value), True, [value], -value])
    if type(value) is float:
        as_int = int(value) if math.isfinite(value) and value.is_integer() else round(value)
        return rng.choice([value + 0.5, value * 2, as_int, str(value), -value, [value]])
    if type(value) is str:
        return rng.choice([_noisy(value, rng), _noisy(_noisy(value, rng), rng), "", 42, [value], value + "x"])
    if type(value) in (list, tuple):
        items = list(value)
        options: list[Any] = [[], items[:-1], items + items[-1:], items[::-1], tuple(items), str(items)]
        if items:
            at = rng.randrange(len(items))
            options += [[*items[:at], _mutate_value(items[at], rng), *items[at + 1 :]], items[0]]
        return rng.choice(options)
    if type(value) is dict:
        edited = dict(value)
        # One or two edits: a wrong value together with a missing key is a case of its own.
        for edit in rng.sample(["delete", "change", "add"], rng.choice([1, 2])):
            keys = list(edited)
            if edit == "delete" and keys:
                del edited[rng.choice(keys)]
            elif edit == "change" and keys:
                key = rng.choice(keys)
                edited[key] = _mutate_value(edited[key], rng)
            else:
                edited["extra_key"] = "x"
        return rng.choice([edited, edited, edited, list(value.items()), str(value), [value]])
    return str(value)


def _deep_number_swap(value: Any) -> Any:
    """Integral floats become ints and ints become floats, at every depth."""
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)
    if type(value) is int:
        return float(value)
    if type(value) is list:
        return [_deep_number_swap(element) for element in value]
    if type(value) is dict:
        return {key: _deep_number_swap(element) for key, element in value.items()}
    return value


def _deep_noise(value: Any, rng: random.Random) -> Any:
    """String noise at any depth (list elements, dict values)."""
    if type(value) is str:
        return _noisy(value, rng)
    if type(value) is list:
        return [_deep_noise(element, rng) if rng.random() < 0.6 else element for element in value]
    if type(value) is dict:
        return {
            key: _deep_noise(element, rng) if rng.random() < 0.6 else element
            for key, element in value.items()
        }
    return value


def _concrete(option: Any, rng: random.Random) -> Any:
    """A value the model could write for one acceptable value (dict answers list options per key)."""
    if type(option) is dict:
        chosen = {}
        for key, options in option.items():
            pick = rng.choice(options) if isinstance(options, list) and options else options
            if pick != "" or rng.random() < 0.2:
                chosen[key] = copy.deepcopy(pick)
        return chosen
    if type(option) is list and option and all(type(element) is dict for element in option):
        return [_concrete(element, rng) for element in option]
    return copy.deepcopy(option)


def _mutate_source(text: str, rng: random.Random) -> str:
    """A near miss of a Java/JavaScript source string."""
    return rng.choice(
        [
            _noisy(text, rng),
            f"[{text}]",
            f'"{text}"',
            text.strip("\"'"),
            text.replace('"', "'"),
            text.replace("'", '"'),
            text.replace(", ", ","),
            text.replace("[", "new Array(").replace("]", ")"),
            re.sub(r"(\d+)", r'"\1"', text),
            re.sub(r"(\d+)", r"\1.0", text),
            text + rng.choice(["L", "f", "n"]),
            text + "\n",
            re.sub(r"(\d+)", r"\1L", text),
            text.replace("true", '"true"').replace("false", "'false'"),
            text.replace('"', "", 1),
            text[::-1].replace('"', "", 1)[::-1],
            text.rstrip("LlfFn"),
            text.replace("true", "True"),
            text.replace("Arrays.asList(", "List.of(") if "Arrays" in text else text.replace("{{", "{"),
        ]
    )


def _empty(spec: dict) -> Any:
    """What a model might write for a parameter it means to leave empty."""
    declared = spec.get("type")
    if declared in ("array", "tuple", "Array", "ArrayList"):
        return []
    if declared in ("dict", "HashMap"):
        return {}
    return ""


def _java_literal(value: Any) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is str:
        return f'"{value}"'
    return str(value)


def _java_source(value: Any, spec: dict, rng: random.Random) -> Any:
    declared = spec.get("type")
    if type(value) is str:
        return value
    if declared == "boolean" and type(value) is bool:
        return "true" if value else "false"
    if declared == "long":
        return f"{value}{rng.choice('Ll')}"
    if declared == "float":
        return f"{value}{rng.choice('fF')}"
    if declared in ("Array", "ArrayList") and type(value) is list:
        item = spec.get("items", {}).get("type")
        quote = item in ("String", "char") and rng.random() < 0.7
        elements = [_java_literal(e) if quote or type(e) is not str else e for e in value]
        if declared == "Array":
            return f"new {rng.choice(['int', 'String', 'Object'])}[]{{{', '.join(elements)}}}"
        if rng.random() < 0.5:
            return f"new ArrayList<>(Arrays.asList({', '.join(elements)}))"
        return "new ArrayList<String>() {{ " + " ".join(f"add({e});" for e in elements) + " }}"
    if declared == "HashMap" and type(value) is dict:
        puts = " ".join(f'put("{key}", {_java_literal(element)});' for key, element in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}" if puts else "new HashMap<>()"
    return _java_literal(value) if type(value) is bool else str(value)


def _js_literal(value: Any, rng: random.Random) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is str:
        return rng.choice(['"{}"', "'{}'"]).format(value)
    if value is None:
        return "null"
    if type(value) is list:
        return "[" + ", ".join(_js_literal(e, rng) for e in value) + "]"
    if type(value) is dict:
        return "{" + ", ".join(f'"{k}": {_js_literal(v, rng)}' for k, v in value.items()) + "}"
    return str(value)


def _js_source(value: Any, spec: dict, rng: random.Random) -> Any:
    declared = spec.get("type")
    if declared == "String" and type(value) is str:
        return rng.choice(["{}", "{}", '"{}"', "'{}'"]).format(value)
    if type(value) is str:
        return value
    if declared == "Bigint":
        return f"{value}n"
    if declared == "array" and type(value) is list and rng.random() < 0.3:
        return "new Array(" + ", ".join(_js_literal(e, rng) for e in value) + ")"
    return _js_literal(value, rng)


def _source(value: Any, spec: dict, language: str, rng: random.Random) -> Any:
    if language == "java":
        return _java_source(value, spec, rng)
    if language == "javascript":
        return _js_source(value, spec, rng)
    return value


def _sample_value(spec: dict, rng: random.Random) -> Any:
    """Some value of a declared type, for extra parameters and relevance outputs."""
    declared = spec.get("type")
    if declared in ("integer", "long", "short", "byte", "Bigint"):
        return rng.randint(-2, 30)
    if declared in ("float", "double"):
        return rng.choice([0.5, 2.0, 3.25])
    if declared in ("boolean", "Boolean"):
        return rng.random() < 0.5
    if declared in ("array", "tuple", "Array", "ArrayList"):
        return [_sample_value(spec.get("items", {"type": "string"}), rng) for _ in range(rng.randint(0, 2))]
    if declared in ("dict", "HashMap"):
        return {"key": rng.choice(["value", 1])}
    return rng.choice(["abc", "New York, NY", "x"])


MUTATIONS = (
    *("value", "value", "noise", "noise", "numbers", "drop_param", "extra_param", "name"),
    *("drop_call", "duplicate_call", "reverse", "swap_arguments", "arguments_shape", "python_value"),
)


class _Generator:
    """Outputs for one case, deterministic given the case and the rng."""

    def __init__(self, case: dict, category: str, rng: random.Random) -> None:
        self.case = case
        self.language = language_of(category)
        self.rng = rng
        self.docs = {function["name"]: function for function in case["functions"]}

    def spec(self, name: str, param: str) -> dict:
        function = self.docs.get(name) or self.case["functions"][0]
        return function["parameters"].get("properties", {}).get(param, {})

    def right_calls(self) -> list[dict]:
        rng = self.rng
        if self.case["ground_truth"] is None:
            return self.some_calls()
        calls = []
        for expected in self.case["ground_truth"]:
            name, acceptable = next(iter(expected.items()))
            arguments = {}
            for param, options in acceptable.items():
                pick = rng.choice(options) if options else ""
                if pick == "" and rng.random() < 0.7:
                    continue
                value = _empty(self.spec(name, param)) if pick == "" else _concrete(pick, rng)
                arguments[param] = _source(value, self.spec(name, param), self.language, rng)
            calls.append({name: arguments})
        rng.shuffle(calls)
        return calls

    def some_calls(self) -> list[dict]:
        """Plausible calls to the offered functions (for the relevance categories)."""
        rng = self.rng
        if not self.case["functions"]:
            return [{"anything": {}}]
        calls = []
        for _ in range(rng.choice([1, 1, 2])):
            function = rng.choice(self.case["functions"])
            properties = function["parameters"].get("properties", {})
            required = function["parameters"].get("required", [])
            arguments = {
                param: _source(
                    _sample_value(properties.get(param, {}), rng), properties.get(param, {}), "python", rng
                )
                for param in properties
                if param in required or rng.random() < 0.3
            }
            calls.append({function["name"]: arguments})
        return calls

    def mutate(self, calls: list[dict]) -> Any:
        rng = self.rng
        kind = rng.choice(MUTATIONS)
        if kind == "drop_call":
            return calls[: rng.randrange(len(calls))] if calls else calls
        if kind == "duplicate_call":
            return [*calls, copy.deepcopy(rng.choice(calls))] if calls else calls
        if kind == "reverse":
            return calls[::-1]
        if not calls:
            return calls
        at = rng.randrange(len(calls))
        name, arguments = next(iter(calls[at].items()))
        if kind == "name":
            others = [other for other in self.docs if other != name]
            new_name = rng.choice(
                [name.replace(".", "_"), name.upper(), name + "x", name.split(".")[-1]]
                + ([rng.choice(others)] if others else [])
            )
            calls[at] = {new_name: arguments}
            return calls
        if type(arguments) is not dict:
            return calls
        if kind == "arguments_shape":
            calls[at] = {name: rng.choice([[], "a=1", None, list(arguments.items())])}
            return calls
        if kind == "swap_arguments" and len(calls) > 1:
            other = rng.randrange(len(calls))
            other_name = next(iter(calls[other]))
            calls[at], calls[other] = {name: calls[other][other_name]}, {other_name: arguments}
            return calls
        if kind == "extra_param":
            declared = self.docs.get(name, {}).get("parameters", {}).get("properties", {})
            unused = [param for param in declared if param not in arguments]
            param = rng.choice([*unused, "unexpected_arg"]) if unused else "unexpected_arg"
            spec = declared.get(param, {"type": "string"})
            arguments[param] = _source(_sample_value(spec, rng), spec, self.language, rng)
            return calls
        if not arguments:
            return calls
        param = rng.choice(list(arguments))
        value = arguments[param]
        if kind == "drop_param":
            del arguments[param]
        elif type(value) is str and self.language != "python" and kind in ("value", "noise", "numbers"):
            arguments[param] = _mutate_source(value, rng)
        elif kind == "noise":
            arguments[param] = _deep_noise(value, rng)
        elif kind == "numbers":
            arguments[param] = _deep_number_swap(value)
        elif kind == "python_value" and self.language != "python":
            # The value as Python would write it instead of a Java/JS source string.
            arguments[param] = rng.choice([True, 5, 2.5, ["a"], {"a": 1}, None])
        else:
            arguments[param] = _mutate_value(value, rng)
        return calls

    def malformed(self) -> Any:
        rng = self.rng
        calls = self.right_calls()
        valid_json = json.dumps([{"name": n, "arguments": a} for call in calls for n, a in call.items()])
        return rng.choice(
            [
                "I cannot help with that.",
                "",
                "[]",
                "```\n[]\n```",
                "[{}]",
                "{}",
                '""',
                "null",
                "5",
                "[1, 2]",
                '["f"]',
                '[["f", {}]]',
                '{"name": "f", "arguments": {}}',
                '[{"name": "f"}]',
                '[{"arguments": {}}]',
                '[{"name": ["f"], "arguments": {}}]',
                '[{"name": null, "arguments": {}}]',
                '[{"name": "f", "arguments": "x=1"}]',
                '{"tool_calls": []}',
                valid_json + " Hope this helps!",
                valid_json[:-1],
                "```json\n" + valid_json + "\n```",
                UNDECODABLE,
                [],
                [{}],
                {"f": {}},
                [{"a": {}, "b": {}}],
                [("f", {})],
                [{"f": {"x": (1, 2)}}],
                [{"f": []}],
                "not a list",
            ]
        )

    def output(self) -> Any:
        """One generated output: decoded (Python objects) or raw text for the Hammer decoder."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            return self.malformed()
        calls = self.right_calls()
        if roll > 0.3:
            for _ in range(rng.choice([1, 1, 2, 3])):
                calls = self.mutate(calls)
        if rng.random() < 0.5 and all(type(call) is dict and len(call) == 1 for call in calls):
            text = json.dumps([{"name": n, "arguments": a} for call in calls for n, a in call.items()])
            return f"```\n{text}\n```" if rng.random() < 0.5 else text
        return calls


# --- the comparison ---------------------------------------------------------------------------


@pytest.mark.parametrize("category", AST_CATEGORIES + RELEVANCE_CATEGORIES)
def test_verdicts_match_official(official, bfcl_data_dir: Path, category: str) -> None:
    rng = random.Random(f"{SEED}:{category}")
    cases = _cases(bfcl_data_dir, category, rng)
    per_case = -(-OUTPUTS_PER_CATEGORY // len(cases))
    compared = valid = crashes = 0
    mismatches = []
    for case in cases:
        generator = _Generator(case, category, rng)
        for _ in range(per_case):
            output = generator.output()
            model = DOTS_MODEL if rng.random() < 0.15 else HAMMER_MODEL
            ours_input = decode_hammer(output) if isinstance(output, str) else copy.deepcopy(output)
            ours = check_bfcl(
                category,
                case["functions"],
                case["ground_truth"],
                None if output is UNDECODABLE else ours_input,
                underscore_to_dot=model == DOTS_MODEL,
            )
            try:
                theirs = _official_verdict(official, category, case, output, model)
            except Exception as error:  # the official checker cannot judge this output at all
                crashes += 1
                if ours.valid:
                    mismatches.append((case["id"], output, f"official crashed: {error!r}", ours))
                continue
            compared += 1
            valid += theirs[0]
            if (ours.valid, ours.error_type) != theirs:
                mismatches.append((case["id"], output, theirs, ours))
    print(
        f"{category}: {len(cases)} cases, {compared} outputs compared ({valid} valid),",
        f"{crashes} the official checker crashed on",
    )
    assert not mismatches, f"{len(mismatches)} disagreements, first ones:\n" + "\n".join(
        repr(m) for m in mismatches[:5]
    )
    assert compared >= OUTPUTS_PER_CATEGORY * 0.9
    if category != "irrelevance":  # a right answer to an irrelevance case is rare by construction
        assert 0.05 < valid / compared < 0.95, "the generated outputs should exercise both verdicts"


def test_hammer_decoding_matches_official(official) -> None:
    texts = [
        "",
        "[]",
        "```[]```",
        "nonsense",
        "{}",
        '{"a": 1}',
        '""',
        '"ab"',
        "5",
        "null",
        "true",
        "[1]",
        '[{"name": "f", "arguments": {"x": 1}}]',
        '```\n[{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": 3}]\n```',
        '[{"name": "f"}]',
        '[{"name": ["f"], "arguments": {}}]',
        '[{"name": {"f": 1}, "arguments": {}}]',
        '[{"name": 7, "arguments": null}]',
        '[{"name": "f", "arguments": {}}, "g"]',
        '[{"name": "f", "arguments": NaN}]',
        "[" * 100_000 + "]" * 100_000,
    ]
    for text in texts:
        try:
            expected = official.hammer.decode_ast(text, None, False)
        except Exception:
            expected = None
        assert repr(decode_hammer(text)) == repr(expected), text[:80]


def _read_csv(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows[0]


def test_summary_matches_leaderboard(official, tmp_path: Path) -> None:
    """Our summary rows equal the leaderboard's own aggregation of the same scores."""
    rng = random.Random(SEED)
    single_turn = AST_CATEGORIES + RELEVANCE_CATEGORIES
    accuracy = {category: rng.random() for category in single_turn}
    counts = {category: rng.randint(10, 1100) for category in single_turn}
    others = [
        "multi_turn_base",
        "multi_turn_miss_func",
        "multi_turn_miss_param",
        "multi_turn_long_context",
        "web_search_base",
        "web_search_no_snippet",
        "memory_kv",
        "memory_vector",
        "memory_rec_sum",
    ]
    table = {c: {"accuracy": accuracy[c], "total_count": counts[c]} for c in single_turn}
    table.update({c: {"accuracy": 0.0, "total_count": 100} for c in others})
    official.leaderboard_csv({HAMMER_MODEL: table}, tmp_path)

    def percent(value: str) -> float:
        return float(value.rstrip("%")) / 100

    overall = _read_csv(tmp_path / "data_overall.csv")
    non_live = _read_csv(tmp_path / "data_non_live.csv")
    live = _read_csv(tmp_path / "data_live.csv")
    ours = bfcl_summary(accuracy, counts)
    tolerance = 0.00006  # the CSVs round to 0.01 %
    assert ours["non_live_simple"] == pytest.approx(percent(non_live["Simple AST"]), abs=tolerance)
    assert ours["non_live_ast"] == pytest.approx(percent(overall["Non-Live AST Acc"]), abs=tolerance)
    assert ours["live_ast"] == pytest.approx(percent(overall["Live Acc"]), abs=tolerance)
    assert ours["live_ast"] == pytest.approx(percent(live["AST Summary"]), abs=tolerance)
    assert ours["irrelevance"] == pytest.approx(percent(overall["Irrelevance Detection"]), abs=tolerance)
    assert ours["relevance"] == pytest.approx(percent(overall["Relevance Detection"]), abs=tolerance)
    # Multi-turn and agentic score 0 here, so the leaderboard's overall is 0.3 x our single-turn overall.
    assert 0.3 * ours["overall"] == pytest.approx(percent(overall["Overall Acc"]), abs=tolerance)
