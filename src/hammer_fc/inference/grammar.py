"""GBNF grammars that make a model's answer a valid Hammer tool call for the tools at hand.

llama.cpp can restrict sampling to a context-free grammar. We build one per request from the
offered tools, so the output is always the Hammer answer format (the fenced JSON list the
prompt's format instruction asks for) naming only offered functions, using only their
parameter names, with every required argument present and every value valid under its JSON
Schema. ``tool_choice`` decides whether ``[]`` is allowed (``auto``), forbidden (``required`` or
a named function) or forced (``none``).

Each tool's ``parameters`` is compiled as JSON Schema (the codec's JSON-Schema form of the
tool, so BFCL and xLAM tools are read the same way): see :func:`json_schema_grammar` for what is
enforced. A schema the grammar cannot enforce raises :class:`HammerError` naming the construct
(the server's 400) instead of yielding answers that break it. Where enforcing exactly would not
fit a grammar the builder keeps to a subset that still validates: no undeclared properties, no
exponents in bounded numbers, tuples at their declared length.

Arguments are emitted in the schema's declared order (optional ones may be skipped). Allowing
every permutation would blow the grammar up factorially for no gain: the prompt lists the
parameters in that order and the model follows it.

Building a grammar walks the whole schema, and llama.cpp parses it again per request, so we
cache the text per (tools, tool_choice), keyed by their canonical JSON.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

from hammer_fc.errors import HammerError
from hammer_fc.schema import Tool
from hammer_fc.schema.params import tool_to_function

FENCE_OPEN = "```\n"
FENCE_CLOSE = "\n```"

# Whitespace rules: ``ws`` after an opening and before a closing bracket or a colon, ``sp``
# after a colon or comma, ``lws``/``lsp`` the same between the calls of the answer list.
# A tool call is held to the trained answer format exactly (``json.dumps``'s layout: ", " and
# ": ", nothing inside brackets), so no structural character is ever the model's choice and
# jump-forward can feed all of them in one batch. A ``response_format`` value may use at most
# one space anywhere (bounded, so a model cannot spin on whitespace).
_CALL_SPACING = r"""
ws ::= ""
sp ::= " "
lws ::= ""
lsp ::= " "
""".strip()
_LOOSE_SPACING = r"""
ws ::= | " "
sp ::= | " "
""".strip()
_PRIMITIVES = r"""
string ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
pchar ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" bmp)
bmp ::= [0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}
integer ::= "-"? ("0" | [1-9] [0-9]{0,17})
number ::= integer ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws (member ("," sp member)* ws)? "}"
member ::= string ws ":" sp value
array ::= "[" ws (value ("," sp value)* ws)? "]"
""".strip()

ToolChoice = str | dict[str, Any] | None


def literal(text: str) -> str:
    """``text`` as a GBNF string literal (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_literal(value: Any) -> str:
    """A GBNF literal for the JSON text of ``value`` as ``json.dumps`` writes it."""
    return literal(json.dumps(value, ensure_ascii=False))


def forced_function(tools: list[Tool], tool_choice: ToolChoice) -> str | None:
    """The function name a ``{"type": "function", "function": {"name": ...}}`` choice forces.

    Raises :class:`HammerError` (field ``tool_choice``) for a malformed choice or a name that
    is not among the tools, so the server can answer 400 with the offending field.
    """
    if tool_choice is None or isinstance(tool_choice, str):
        if tool_choice not in (None, "auto", "none", "required"):
            raise HammerError(
                f"unknown tool_choice {tool_choice!r}: expected auto, none, required or a function",
                field="tool_choice",
            )
        return None
    if not isinstance(tool_choice, dict):
        raise HammerError("tool_choice must be a string or an object", field="tool_choice")
    function = tool_choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if tool_choice.get("type") != "function" or not isinstance(name, str):
        raise HammerError(
            'tool_choice object must be {"type": "function", "function": {"name": ...}}',
            field="tool_choice",
        )
    if not any(t.name == name for t in tools):
        raise HammerError(f"tool_choice names {name!r}, which is not among the tools", field="tool_choice")
    return name


# JSON Schema keywords the grammar enforces (``nullable`` is OpenAPI's, ``definitions`` and
# ``$defs`` only hold schemas for ``$ref``). Any other keyword outside _UNSUPPORTED is an
# annotation (``description``, ``default``, ``format``, BFCL's ``optional`` ...): it does not
# change which values are valid, so it is ignored.
_HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "nullable",
        "anyOf",
        "oneOf",
        "allOf",
        "$ref",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
    }
)
# Assertions a context-free grammar cannot (or we do not) enforce: a schema using one is refused
# rather than answered with values that may break it.
_UNSUPPORTED = frozenset(
    {
        "pattern",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "minContains",
        "maxContains",
        "uniqueItems",
        "multipleOf",
        "not",
        "if",
        "then",
        "else",
        "$dynamicRef",
        "$recursiveRef",
    }
)
_JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
# Keywords that only apply to one type: a schema without ``type`` that uses them gets that type
# (a subset of what it admits, so every value still validates).
_TYPE_KEYWORDS = (
    ("object", frozenset({"properties", "required", "additionalProperties"})),
    ("array", frozenset({"items", "prefixItems", "additionalItems", "minItems", "maxItems"})),
    ("string", frozenset({"minLength", "maxLength"})),
    ("number", frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})),
)
_MAX_REPEAT = 100
"""The longest ``maxItems``/``maxLength`` spelled out (llama.cpp expands a bounded repetition
into one rule per step): a larger bound is enforced as this one, which still validates. A
``minItems``/``minLength`` above it is refused."""
_MAX_INT = 10**18 - 1  # the ``integer`` rule's 18 digits
_FALSE = "the schema false admits no value"

Kinds = frozenset[str]
_T = TypeVar("_T")


class _Unsatisfiable(HammerError):
    """A schema no value satisfies (``false``, an enum none of whose values has the declared
    type, contradictory bounds). An optional property or an ``anyOf`` branch with such a schema
    is left out, since no valid answer can hold it (BFCL has booleans whose enum lists strings);
    anywhere else it is an error like any other."""


def _canonical(value: Any) -> Any:
    """JSON Schema's equality: ``1 == 1.0`` but ``1 != true``; for comparing enum values."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    return ("other", repr(value))


def _kind(value: Any) -> str:
    """The JSON kind of a literal (``int`` and ``frac`` split ``number`` as ``integer`` does)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "int" if value.is_integer() else "frac"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _type_kinds(types: list[str]) -> Kinds:
    out: set[str] = set()
    for t in types:
        out |= {"integer": {"int"}, "number": {"int", "frac"}}.get(t, {t})
    return frozenset(out)


_ALL_KINDS = _type_kinds(list(_JSON_TYPES))


def _count(spec: dict[str, Any], key: str, path: str, default: int | None) -> int | None:
    """A non-negative integer keyword (``minItems``, ``maxLength`` ...)."""
    value = spec.get(key, default)
    if value is default:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise HammerError(f"{key} must be a non-negative integer, got {value!r}", field=f"{path}.{key}")
    return int(value)


def _number(spec: dict[str, Any], key: str, path: str) -> float | None:
    value = spec.get(key)
    if value is None or (isinstance(value, bool) and key.startswith("exclusive")):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HammerError(f"{key} must be a number, got {value!r}", field=f"{path}.{key}")
    return value


def _bounds(spec: dict[str, Any], path: str) -> tuple[float | None, bool, float | None, bool]:
    """(lower, exclusive, upper, exclusive), from draft 4's boolean ``exclusive*`` or later drafts'
    numeric ones."""
    lower, upper = _number(spec, "minimum", path), _number(spec, "maximum", path)
    low_open = spec.get("exclusiveMinimum") is True
    high_open = spec.get("exclusiveMaximum") is True
    exclusive_low, exclusive_high = (
        _number(spec, "exclusiveMinimum", path),
        _number(spec, "exclusiveMaximum", path),
    )
    if exclusive_low is not None and (lower is None or exclusive_low >= lower):
        lower, low_open = exclusive_low, True
    if exclusive_high is not None and (upper is None or exclusive_high <= upper):
        upper, high_open = exclusive_high, True
    return lower, low_open, upper, high_open


def _integer_bounds(spec: dict[str, Any], path: str, *, strict: bool = True) -> tuple[int | None, int | None]:
    """The smallest and largest integer the bounds admit (``None``: unbounded); ``strict``: an
    error when there is none."""
    lower, low_open, upper, high_open = _bounds(spec, path)
    low = None if lower is None else math.floor(lower) + 1 if low_open else math.ceil(lower)
    high = None if upper is None else math.ceil(upper) - 1 if high_open else math.floor(upper)
    if strict and low is not None and high is not None and low > high:
        raise _Unsatisfiable(f"no integer lies between {lower} and {upper}", field=path)
    if (low is not None and low > _MAX_INT) or (high is not None and high < -_MAX_INT):
        raise HammerError(f"bounds beyond {_MAX_INT} cannot be enforced", field=path)
    return low, high


def _same_length(low: str, high: str) -> str:
    """Digit strings of one length from ``low`` to ``high`` (the classic range decomposition)."""
    if low == high:
        return literal(low)
    if len(low) == 1:
        return f"[{low}-{high}]"
    if low[0] == high[0]:
        return f"{literal(low[0])} ({_same_length(low[1:], high[1:])})"
    rest = len(low) - 1
    low_full, high_full = low[1:] == "0" * rest, high[1:] == "9" * rest
    first, last = int(low[0]) + (not low_full), int(high[0]) - (not high_full)
    alts = [] if low_full else [f"{literal(low[0])} ({_same_length(low[1:], '9' * rest)})"]
    if first <= last:
        alts.append(f"[{first}-{last}] [0-9]{{{rest}}}")
    if not high_full:
        alts.append(f"{literal(high[0])} ({_same_length('0' * rest, high[1:])})")
    return " | ".join(alts)


def _unsigned(low: int, high: int | None) -> str:
    """Integers from ``low >= 0`` to ``high`` (``None``: up to 18 digits), without leading zeros."""
    top = _MAX_INT if high is None else min(high, _MAX_INT)
    alts, start = [], low
    while start <= top:
        digits = len(str(start))
        if high is None and digits > 1 and start == 10 ** (digits - 1):
            alts.append(f"[1-9] [0-9]{{{digits - 1},17}}")
            break
        end = min(top, 10**digits - 1)
        alts.append(_same_length(str(start), str(end)))
        start = end + 1
    return "(" + " | ".join(alts) + ")"


def _signed(low: int | None, high: int | None) -> str:
    """Integers from ``low`` to ``high`` (``None``: unbounded on that side)."""
    alts = []
    if high is None or high >= 0:
        alts.append(_unsigned(max(low, 0) if low is not None else 0, high))
    if low is None or low < 0:
        alts.append(
            f'"-" {_unsigned(1 if high is None or high >= 0 else -high, None if low is None else -low)}'
        )
    return "(" + " | ".join(alts) + ")"


def _repeat(expr: str, low: int, high: int | None) -> str:
    """``expr`` repeated ``low`` to ``high`` times (``None``: unbounded), in GBNF's notation."""
    if high == 0:
        return ""
    if high is None:
        suffix = "*" if low == 0 else "+" if low == 1 else f"{{{low},}}"
    else:
        suffix = "?" if (low, high) == (0, 1) else f"{{{low},{high}}}"
    return f"({expr}){suffix}"


def _intersect_types(first: Any, second: Any, path: str) -> list[str]:
    a = first if isinstance(first, list) else [first]
    b = second if isinstance(second, list) else [second]
    both = [t for t in a if t in b] + (["integer"] if "integer" in a and "number" in b else [])
    both += ["integer"] if "number" in a and "integer" in b else []
    both = list(dict.fromkeys(both))
    if not both:
        raise _Unsatisfiable(
            f"no value can be of type {first!r} and of type {second!r}", field=f"{path}.type"
        )
    return both


def _merge(first: dict[str, Any], second: dict[str, Any], path: str) -> dict[str, Any]:
    """Two schemas that must both hold (``allOf``, ``$ref`` with siblings), as one."""
    out = dict(first)
    for key, value in second.items():
        if key not in out:
            out[key] = value
        elif key == "type":
            out[key] = _intersect_types(out[key], value, path)
        elif key == "required" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = out[key] + [r for r in value if r not in out[key]]
        elif out[key] != value:
            raise HammerError(f"combines two different {key!r}: the grammar cannot enforce both", field=path)
    return out


class _Builder:
    """Collects named rules while walking JSON Schemas (one per tool, or one value's schema).

    Every construct becomes a GBNF expression that admits only values valid under it; where that
    takes leaving out some valid values (optional properties only in declared order, no
    undeclared properties, no exponents in bounded numbers) the grammar keeps to the subset.
    """

    def __init__(self) -> None:
        self.rules: list[str] = []
        self._count = 0
        self._docs: list[tuple[Any, str]] = []  # each root document and its field path, kept alive
        self._refs: dict[tuple[int, str], str] = {}
        self._bare: set[tuple[int, str]] = set()  # refs being expanded with nothing consumed yet

    def rule(self, prefix: str, body: str) -> str:
        """Add ``prefix-N ::= body`` and return its name (names are numbered: tool names may
        hold characters GBNF rule names cannot)."""
        self._count += 1
        name = f"{prefix}-{self._count}"
        self.rules.append(f"{name} ::= {body}")
        return name

    def root(self, schema: Any, path: str, *, arguments: bool = False) -> str:
        """An expression for a value of ``schema``, a root document for ``$ref``."""
        self._docs.append((schema, path))
        return self.schema(schema, schema, path, arguments=arguments)

    def schema(self, spec: Any, doc: Any, path: str, *, arguments: bool = False) -> str:
        """An expression for one value of ``spec``; ``arguments``: a function's arguments (an
        object whatever the schema says about its type, no undeclared keys by default)."""
        spec = self._checked(spec, path)
        if not arguments and "$ref" in spec and not (spec.keys() & _HANDLED) - {"$ref"}:
            return self._ref(spec["$ref"], doc, path)
        flat, seen = self._flatten(spec, doc, path, frozenset())
        return self._flat(flat, doc, path, arguments, seen)

    def _checked(self, spec: Any, path: str) -> dict[str, Any]:
        if spec is True:
            return {}
        if spec is False:
            raise _Unsatisfiable(_FALSE, field=path)
        if not isinstance(spec, dict):
            raise HammerError(
                f"a schema must be an object or a boolean, got {type(spec).__name__}", field=path
            )
        for key in spec.keys() & _UNSUPPORTED:
            if not (key == "uniqueItems" and spec[key] is False):
                raise HammerError(
                    f"JSON Schema keyword {key!r} cannot be enforced by the grammar", field=f"{path}.{key}"
                )
        return spec

    def _attempt(self, build: Callable[[], _T]) -> _T | None:
        """``build()``, or ``None`` when its schema admits no value (rules and refs it made are
        dropped, so no rule is left naming one that was never written)."""
        rules, refs = len(self.rules), set(self._refs)
        try:
            return build()
        except _Unsatisfiable:
            del self.rules[rules:]
            for key in set(self._refs) - refs:
                del self._refs[key]
            return None

    def _resolve(self, ref: Any, doc: Any, path: str) -> tuple[Any, str]:
        """The schema a local ``$ref`` (a JSON pointer into its document) names, and its path."""
        where = f"{path}.$ref"
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise HammerError(f"only local references (#/...) can be resolved, got {ref!r}", field=where)
        if ref != "#" and not ref.startswith("#/"):
            raise HammerError(f"references to anchors are not supported, got {ref!r}", field=where)
        node, target = doc, next(p for d, p in self._docs if d is doc)
        for part in ref[2:].split("/") if ref != "#" else []:
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise HammerError(f"$ref {ref!r} points to nothing", field=where)
            target = f"{target}.{part}"
        return node, target

    def _ref(self, ref: str, doc: Any, path: str) -> str:
        """A rule per referenced schema, so recursive schemas give recursive rules."""
        key = (id(doc), ref)
        if key in self._bare:
            raise HammerError(
                f"$ref {ref!r} refers back to itself with no object or array between", field=f"{path}.$ref"
            )
        if key in self._refs:
            return self._refs[key]
        target, where = self._resolve(ref, doc, path)
        self._count += 1
        name = self._refs[key] = f"ref-{self._count}"
        self._bare.add(key)
        try:
            self.rules.append(f"{name} ::= {self.schema(target, doc, where)}")
        finally:
            self._bare.discard(key)
        return name

    def _flatten(
        self, spec: dict[str, Any], doc: Any, path: str, seen: frozenset[str]
    ) -> tuple[dict[str, Any], frozenset[str]]:
        """``spec`` with its ``$ref`` and ``allOf`` merged in, annotations dropped; also the refs
        merged on the way (a cycle among them is an error, not an endless loop)."""
        out = {k: v for k, v in spec.items() if k in _HANDLED and k not in ("$ref", "allOf")}
        parts: list[tuple[Any, str]] = []
        if "$ref" in spec:
            ref = spec["$ref"]
            if ref in seen:
                raise HammerError(
                    f"$ref {ref!r} refers back to itself with no object or array between",
                    field=f"{path}.$ref",
                )
            parts.append(self._resolve(ref, doc, path))
            seen = seen | {ref}
        all_of = spec.get("allOf")
        if all_of is not None:
            if not isinstance(all_of, list) or not all_of:
                raise HammerError("allOf must be a non-empty list", field=f"{path}.allOf")
            parts += [(sub, f"{path}.allOf[{i}]") for i, sub in enumerate(all_of)]
        for sub, where in parts:
            merged, seen = self._flatten(self._checked(sub, where), doc, where, seen)
            out = _merge(out, merged, where)
        return out, seen

    def _flat(self, spec: dict[str, Any], doc: Any, path: str, arguments: bool, seen: frozenset[str]) -> str:
        nullable = spec.get("nullable", False)
        if not isinstance(nullable, bool):
            raise HammerError("nullable must be true or false", field=f"{path}.nullable")
        if "anyOf" in spec and "oneOf" in spec:
            raise HammerError("anyOf and oneOf in one schema cannot be enforced together", field=path)
        if "anyOf" in spec or "oneOf" in spec:
            expr = self._union(spec, "anyOf" if "anyOf" in spec else "oneOf", doc, path, arguments, seen)
        else:
            expr = self._single(spec, doc, path, arguments)
        return f"({expr} | null)" if nullable and not arguments and expr != "value" else expr

    def _union(
        self, spec: dict[str, Any], key: str, doc: Any, path: str, arguments: bool, seen: frozenset[str]
    ) -> str:
        """``anyOf``/``oneOf``: one alternative per branch, the schema's other keywords merged
        into each. ``oneOf`` also needs at most one branch to match: enforced when the branches
        admit disjoint kinds of value (or disjoint literals), refused otherwise."""
        branches = spec[key]
        if not isinstance(branches, list) or not branches:
            raise HammerError(f"{key} must be a non-empty list", field=f"{path}.{key}")
        rest = {k: v for k, v in spec.items() if k not in (key, "nullable")}
        alts, flats = [], []
        for i, branch in enumerate(branches):
            where = f"{path}.{key}[{i}]"
            if branch is False:
                continue

            def one(branch: Any = branch, where: str = where) -> tuple[dict[str, Any], str]:
                checked = self._checked(branch, where)
                flat, branch_seen = self._flatten(checked, doc, where, seen)
                flat = _merge(flat, rest, where)
                if not rest and not arguments and checked.keys() & _HANDLED == {"$ref"}:
                    return flat, self._ref(branch["$ref"], doc, where)  # keeps recursion through rules
                return flat, self._flat(flat, doc, where, arguments, branch_seen)

            built = self._attempt(one)  # a branch no value satisfies is left out
            if built is not None:
                flats.append((i, built[0]))
                alts.append(built[1])
        if not alts:
            raise _Unsatisfiable(f"no branch of {key} admits a value", field=f"{path}.{key}")
        if key == "oneOf":
            self._disjoint(flats, path)
        return "(" + " | ".join(dict.fromkeys(alts)) + ")"

    def _disjoint(self, flats: list[tuple[int, dict[str, Any]]], path: str) -> None:
        kinds = [(i, _kinds(flat), _literals(flat)) for i, flat in flats]
        for n, (i, kinds_i, literals_i) in enumerate(kinds):
            for j, kinds_j, literals_j in kinds[n + 1 :]:
                if not kinds_i & kinds_j:
                    continue
                if literals_i is not None and literals_j is not None and not literals_i & literals_j:
                    continue
                raise HammerError(
                    f"oneOf branches {i} and {j} can match the same value: the grammar enforces oneOf "
                    "only for branches of different types or different literal values (use anyOf)",
                    field=f"{path}.oneOf",
                )

    def _types(self, spec: dict[str, Any], path: str, arguments: bool) -> list[str] | None:
        """The JSON types a value may have (``None``: any value)."""
        declared = spec.get("type")
        if declared is None:
            if arguments:
                return ["object"]
            inferred = [t for t, keys in _TYPE_KEYWORDS if keys & spec.keys()]
            return inferred or None
        names = declared if isinstance(declared, list) else [declared]
        if not names or not all(isinstance(n, str) and n in _JSON_TYPES for n in names):
            raise HammerError(
                f"unknown type {declared!r} (JSON Schema types: {', '.join(_JSON_TYPES)})",
                field=f"{path}.type",
            )
        if arguments:
            if "object" not in names:
                raise HammerError(
                    f"the parameters of a function must be an object, got type {declared!r}",
                    field=f"{path}.type",
                )
            return ["object"]
        return list(dict.fromkeys(names))

    def _single(self, spec: dict[str, Any], doc: Any, path: str, arguments: bool) -> str:
        types = self._types(spec, path, arguments)
        if "const" in spec or "enum" in spec:  # a type inferred from keywords does not restrict it
            return self._enum(spec, types if "type" in spec or arguments else None, path)
        if types is None:
            return "value"
        alts = [self._typed(t, spec, doc, path, arguments) for t in types]
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"

    def _enum(self, spec: dict[str, Any], types: list[str] | None, path: str) -> str:
        """``const`` or ``enum``: its values that have an allowed type, as literals."""
        enum = spec.get("enum")
        if enum is not None and not isinstance(enum, list):
            raise HammerError("enum must be a list", field=f"{path}.enum")
        if enum == []:
            raise HammerError("enum is empty: no value can match", field=f"{path}.enum")
        values = [spec["const"]] if "const" in spec else enum
        where = f"{path}.const" if "const" in spec else f"{path}.enum"
        if "const" in spec and enum is not None:
            values = [v for v in values if _canonical(v) in {_canonical(e) for e in enum}]
        if types is not None:
            allowed = _type_kinds(types)
            values = [v for v in values if _kind(v) in allowed]
        values = [v for v in values if _fits(v, spec, where)]
        if not values:
            raise _Unsatisfiable(
                f"no value of the {where.rpartition('.')[2]} fits the schema's type and bounds", field=where
            )
        return "(" + " | ".join(dict.fromkeys(json_literal(v) for v in values)) + ")"

    def _typed(self, ptype: str, spec: dict[str, Any], doc: Any, path: str, arguments: bool) -> str:
        if ptype == "string":
            return self._string(spec, path)
        if ptype == "integer":
            low, high = _integer_bounds(spec, path)
            return "integer" if low is None and high is None else self.rule("int", _signed(low, high))
        if ptype == "number":
            return self._number(spec, path)
        if ptype in ("boolean", "null"):
            return ptype
        saved, self._bare = self._bare, set()  # an array or object consumes a bracket first
        try:
            return (
                self._array(spec, doc, path) if ptype == "array" else self._object(spec, doc, path, arguments)
            )
        finally:
            self._bare = saved

    def _string(self, spec: dict[str, Any], path: str) -> str:
        low = _count(spec, "minLength", path, 0) or 0
        high = _count(spec, "maxLength", path, None)
        if low == 0 and high is None:
            return "string"
        if high is not None and low > high:
            raise _Unsatisfiable(f"minLength {low} is above maxLength {high}", field=path)
        if low > _MAX_REPEAT:
            raise HammerError(
                f"minLength {low} is above {_MAX_REPEAT}: too long to enforce", field=f"{path}.minLength"
            )
        high = None if high is None else min(high, _MAX_REPEAT)
        # ``pchar`` is one code point (no surrogate-pair escapes), what JSON Schema counts.
        return self.rule("str", f'"\\"" {_repeat("pchar", low, high)} "\\""')

    def _number(self, spec: dict[str, Any], path: str) -> str:
        """A bounded number: integers within the bounds, and decimals (no exponent) whose
        integer part keeps them inside whatever the digits after the point."""
        lower, _, upper, _ = _bounds(spec, path)
        if lower is None and upper is None:
            return "number"
        low, high = _integer_bounds(spec, path, strict=False)
        fraction = '"." [0-9]+'
        alts = [] if low is not None and high is not None and low > high else [_signed(low, high)]
        # n.ddd lies in [n, n+1): n >= low keeps the lower bound, n + 1 <= upper the upper one.
        top = None if upper is None else math.floor(upper) - 1
        start = max(low, 0) if low is not None else 0
        if top is None or (top >= start and top >= 0):
            alts.append(f"{_unsigned(start, top)} {fraction}")
        # -m.ddd lies in (-(m+1), -m]: -m <= high keeps the upper bound, -(m+1) >= lower the lower.
        first = max(-high, 0) if high is not None else 0
        last = None if lower is None else math.floor(-lower) - 1
        if last is None or last >= first:
            alts.append(f'"-" {_unsigned(first, last)} {fraction}')
        if not alts:
            raise HammerError(f"too narrow a range to enforce ({lower} to {upper})", field=path)
        return self.rule("num", " | ".join(alts))

    def _array(self, spec: dict[str, Any], doc: Any, path: str) -> str:
        low = _count(spec, "minItems", path, 0) or 0
        high = _count(spec, "maxItems", path, None)
        if high is not None and low > high:
            raise _Unsatisfiable(f"minItems {low} is above maxItems {high}", field=path)
        if low > _MAX_REPEAT:
            raise HammerError(
                f"minItems {low} is above {_MAX_REPEAT}: too many to enforce", field=f"{path}.minItems"
            )
        items, prefix, rest, rest_key = (
            spec.get("items"),
            spec.get("prefixItems"),
            spec.get("items", True),
            "items",
        )
        prefix_key = "prefixItems"
        if isinstance(items, list):  # draft 4-7 tuples
            prefix, rest, prefix_key, rest_key = (
                items,
                spec.get("additionalItems", True),
                "items",
                "additionalItems",
            )
        if prefix is not None:
            if not isinstance(prefix, list):
                raise HammerError(f"{prefix_key} must be a list of schemas", field=f"{path}.{prefix_key}")
            # Exactly the prefix (cut to maxItems), then only as many more items as minItems needs.
            count = min(len(prefix), len(prefix) if high is None else high)
            exprs = [self.schema(s, doc, f"{path}.{prefix_key}[{i}]") for i, s in enumerate(prefix[:count])]
            if low > len(prefix):
                exprs += [self.schema(rest, doc, f"{path}.{rest_key}")] * (low - len(prefix))
            body = ' "," sp '.join(exprs)
            return self.rule("tuple", f'"[" ws {body} ws "]"' if exprs else '"[" ws "]"')
        high = None if high is None else min(high, _MAX_REPEAT)
        item = (
            None
            if high == 0 or rest is False
            else self._attempt(lambda: self.schema(rest, doc, f"{path}.{rest_key}"))
        )
        if item is None:
            if low:
                self.schema(rest, doc, f"{path}.{rest_key}")  # raises why no item can be written
            return self.rule("arr", '"[" ws "]"')
        more = _repeat(f'"," sp {item}', max(low - 1, 0), None if high is None else high - 1)
        body = f"{item} {more} ws"
        return self.rule("arr", f'"[" ws {body} "]"' if low else f'"[" ws ({body})? "]"')

    def _object(self, spec: dict[str, Any], doc: Any, path: str, arguments: bool) -> str:
        properties = spec.get("properties", {})
        if not isinstance(properties, dict):
            raise HammerError("properties must be an object", field=f"{path}.properties")
        required = spec.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise HammerError("required must be a list of property names", field=f"{path}.required")
        names = list(properties) + [r for r in dict.fromkeys(required) if r not in properties]
        if not names:
            extra = spec.get("additionalProperties", not arguments)
            if extra is False:
                return self.rule("obj", '"{" ws "}"')
            if extra is True or extra == {}:
                return "object"
            value = self._attempt(lambda: self.schema(extra, doc, f"{path}.additionalProperties"))
            if value is None:
                return self.rule("obj", '"{" ws "}"')
            member = f'string ws ":" sp {value}'
            return self.rule("map", f'"{{" ws ({member} ("," sp {member})* ws)? "}}"')
        pairs = []
        for name in names:
            where = f"{path}.properties.{name}"
            sub = properties.get(name, True)
            if name in required:
                value: str | None = self.schema(sub, doc, where)
            else:
                value = self._attempt(lambda sub=sub, where=where: self.schema(sub, doc, where))
            if value is not None:
                pairs.append((f'{json_literal(name)} ws ":" sp {value}', name in required))
        return self.members(pairs)

    def members(self, pairs: list[tuple[str, bool]]) -> str:
        """An object with exactly these (key-value expression, required) pairs, in this order,
        optional ones skippable.

        Two rule chains keep the commas right without ambiguity: ``some[i]`` continues after
        at least one key was written, from key ``i`` on; ``none[i]`` continues from key ``i``
        with nothing written yet (reachable only while every key before ``i`` is optional).
        """
        count = len(pairs)
        some = [""] * count + ["ws"]
        for i in range(count - 1, 0, -1):
            pair, required = pairs[i]
            step = f'"," sp {pair}' if required else f'("," sp {pair})?'
            some[i] = self.rule("s", f"{step} {some[i + 1]}")
        last = next((i for i, (_, required) in enumerate(pairs) if required), count)
        none = ""
        for i in range(min(last, count - 1), -1, -1):
            first = f"{pairs[i][0]} {some[i + 1]}"
            if pairs[i][1]:
                none = self.rule("n", first)
            else:
                none = self.rule("n", f"{first} | {none}" if none else f"({first})?")
        return self.rule("obj", f'"{{" ws {none} "}}"' if none else '"{" ws "}"')

    def call(self, tool: Tool, index: int) -> str:
        """One call of ``tool`` (``tools[index]`` of the request, for error locations)."""
        schema = tool_to_function(tool, "jsonschema")["parameters"]
        arguments = self.root(schema, f"tools[{index}].function.parameters", arguments=True)
        return self.rule(
            "call",
            f'"{{" ws "\\"name\\"" ws ":" sp {json_literal(tool.name)} ws "," sp '
            f'"\\"arguments\\"" ws ":" sp {arguments} ws "}}"',
        )


def _fits(value: Any, spec: dict[str, Any], where: str) -> bool:
    """Whether an enum/const value meets the schema's other keywords for its kind (lengths,
    bounds); keywords on a container's contents are refused rather than checked."""
    kind = _kind(value)
    if kind == "string":
        low, high = _count(spec, "minLength", where, 0) or 0, _count(spec, "maxLength", where, None)
        return low <= len(value) and (high is None or len(value) <= high)
    if kind in ("int", "frac"):
        lower, low_open, upper, high_open = _bounds(spec, where)
        return (lower is None or value > lower or (value == lower and not low_open)) and (
            upper is None or value < upper or (value == upper and not high_open)
        )
    if kind in ("array", "object"):
        inner = {"array": ("items", "prefixItems", "additionalItems"), "object": _TYPE_KEYWORDS[0][1]}[kind]
        for key in inner:
            if key in spec:
                raise HammerError(f"an enum or const of {kind}s with {key!r} cannot be enforced", field=where)
        if kind == "array":
            low, high = _count(spec, "minItems", where, 0) or 0, _count(spec, "maxItems", where, None)
            return low <= len(value) and (high is None or len(value) <= high)
    return True


def _kinds(flat: dict[str, Any]) -> Kinds:
    """The kinds of value a (flattened) schema admits, over-approximated."""
    if "anyOf" in flat or "oneOf" in flat:
        return _ALL_KINDS
    if "const" in flat:
        return frozenset({_kind(flat["const"])})
    if isinstance(flat.get("enum"), list):
        return frozenset(_kind(v) for v in flat["enum"])
    declared = flat.get("type")
    if declared is None:
        inferred = [t for t, keys in _TYPE_KEYWORDS if keys & flat.keys()]
        kinds = _type_kinds(inferred) if inferred else _ALL_KINDS
    else:
        kinds = _type_kinds(declared if isinstance(declared, list) else [declared])
    return kinds | ({"null"} if flat.get("nullable") is True else set())


def _literals(flat: dict[str, Any]) -> frozenset[Any] | None:
    """The values of a const/enum schema (``None`` for any other)."""
    if "anyOf" in flat or "oneOf" in flat or flat.get("nullable") is True:
        return None
    if "const" in flat:
        return frozenset({_canonical(flat["const"])})
    if isinstance(flat.get("enum"), list):
        return frozenset(_canonical(v) for v in flat["enum"])
    return None


def json_schema_grammar(schema: Any, *, field: str = "schema") -> str:
    """A GBNF grammar (rule ``root``) for one JSON value that validates against ``schema``.

    Local ``$ref``/``$defs``/``definitions``, ``anyOf``/``allOf``, ``oneOf`` of disjoint branches,
    ``enum``, ``const``, ``nullable`` and type lists, nested objects and arrays with their
    ``required``, ``items``/``prefixItems`` and size bounds, string lengths and number bounds are
    enforced; annotations (``description``, ``format`` ...) are ignored. A keyword the grammar
    cannot enforce (``pattern``, ``not``, ``uniqueItems`` ...) or a schema no value satisfies (an
    empty ``enum``) raises :class:`HammerError` whose ``field`` is the path from ``field`` down
    to the construct, so a server can answer 400 rather than values that break the schema.
    """
    builder = _Builder()
    expr = builder.root(schema, field)
    return "\n".join([f"root ::= {expr}", *builder.rules, _LOOSE_SPACING, _PRIMITIVES]) + "\n"


def build_grammar(tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
    """The GBNF text for one request (uncached; see :func:`grammar_for_tools`).

    ``parallel=False`` (OpenAI's ``parallel_tool_calls: false``) allows at most one call.
    """
    forced = forced_function(tools, tool_choice)
    if tool_choice == "none" or not tools:
        return f"root ::= {literal(FENCE_OPEN + '[]' + FENCE_CLOSE)}"
    builder = _Builder()
    calls = [builder.call(t, i) for i, t in enumerate(tools) if forced is None or t.name == forced]
    call = builder.rule("any-call", " | ".join(calls))
    some = f'{call} ("," lsp {call})* lws' if parallel else f"{call} lws"
    body = some if tool_choice == "required" or forced is not None else f"({some})?"
    head = [
        f"root ::= {literal(FENCE_OPEN)} list {literal(FENCE_CLOSE)}",
        f'list ::= "[" lws {body} "]"',
    ]
    return "\n".join([*head, *builder.rules, _CALL_SPACING, _PRIMITIVES]) + "\n"


def cache_key(tools: list[Tool], tool_choice: ToolChoice, parallel: bool = True) -> str:
    """Canonical JSON of the tools (as JSON-Schema functions), the choice and the call limit."""
    functions = [tool_to_function(t, "jsonschema") for t in tools]
    return json.dumps([functions, tool_choice, parallel], sort_keys=True, default=repr, ensure_ascii=False)


class GrammarCache:
    """A bounded LRU of grammar texts, safe to share between server threads."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
        key = cache_key(tools, tool_choice, parallel)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        grammar = build_grammar(tools, tool_choice, parallel=parallel)
        with self._lock:
            self.misses += 1
            self._items[key] = grammar
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return grammar


_DEFAULT_CACHE = GrammarCache()


def grammar_for_tools(tools: list[Tool], tool_choice: ToolChoice = "auto", *, parallel: bool = True) -> str:
    """The GBNF grammar for these tools and this ``tool_choice``, cached per tool set."""
    return _DEFAULT_CACHE.get(tools, tool_choice, parallel=parallel)


class CompiledGrammar:
    """A grammar compiled by llama.cpp for one model's vocabulary, stepped one token at a time.

    Greedy decoding only needs to know whether the model's favourite token is allowed, which
    costs one token's check; only when it is not do we mask the whole vocabulary (what
    llama.cpp's own samplers do on every step). That keeps constrained decoding close to free
    when the model already follows the format. Also the ground truth for tests: a text is in
    the language exactly when each of its tokens is allowed in turn and then end-of-generation is.
    """

    def __init__(self, grammar: str, vocab: Any) -> None:
        import llama_cpp
        import numpy as np

        self._llama = llama_cpp
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
        if not self._sampler:
            raise HammerError("llama.cpp could not parse the grammar", field="grammar")
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        self.eos = llama_cpp.llama_vocab_eos(vocab)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._all = (llama_cpp.llama_token_data * self.n_vocab)()
        self._all_view = np.frombuffer(
            self._all, dtype=np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        )
        self._all_view["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self._all_array = llama_cpp.llama_token_data_array(
            data=self._all, size=self.n_vocab, selected=-1, sorted=False
        )
        self._probe_key: Any = None

    def allows(self, token: int) -> bool:
        """Whether ``token`` may come next (end-of-generation: whether the text is complete)."""
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one_array.size = 1
        self._llama.llama_sampler_apply(self._sampler, self._llama.byref(self._one_array))
        return self._one[0].logit != float("-inf")

    def accept(self, token: int) -> None:
        """Advance past ``token`` (which must be allowed: llama.cpp aborts otherwise)."""
        self._llama.llama_sampler_accept(self._sampler, token)

    def best(self, logits: Any) -> int:
        """The highest-scoring allowed token for these next-token logits."""
        import numpy as np

        top = int(np.argmax(logits))
        if self.allows(top):
            return top
        view = self._all_view
        view["logit"] = logits[: self.n_vocab]
        self._all_array.size = self.n_vocab
        self._all_array.data = self._all
        self._llama.llama_sampler_apply(self._sampler, self._llama.byref(self._all_array))
        return int(np.argmax(view["logit"]))

    def forced_bytes(self, probe: Any, *, limit: int) -> tuple[bytes, bool]:
        """The bytes the grammar allows as the only continuation from here (at most ``limit``),
        and whether nothing but end-of-generation is allowed after them.

        ``probe`` holds one single-byte token per byte value (``tokens``, ``values``) and the
        end-of-text token (``eos``): one apply over them says which next bytes are allowed.
        A clone of the grammar state walks the forced bytes, so this state does not move.
        """
        import numpy as np

        if self._probe_key is not probe:
            self._probe_key = probe
            size = len(probe.tokens) + 1
            self._probe = (self._llama.llama_token_data * size)()
            self._probe_view = np.frombuffer(self._probe, dtype=self._all_view.dtype)
            self._probe_ids = np.array([*probe.tokens, probe.eos], dtype=np.int32)
            self._probe_array = self._llama.llama_token_data_array(
                data=self._probe, size=size, selected=-1, sorted=False
            )
        lib, view = self._llama, self._probe_view
        walker = lib.llama_sampler_clone(self._sampler)
        out = bytearray()
        try:
            while len(out) < limit:
                view["id"] = self._probe_ids
                view["logit"] = 0.0
                self._probe_array.size = len(view)
                lib.llama_sampler_apply(walker, lib.byref(self._probe_array))
                allowed = np.flatnonzero(view["logit"] != -np.inf)
                ids = view["id"][allowed]
                if probe.eos in ids:
                    return bytes(out), len(ids) == 1
                if len(ids) != 1:
                    break
                token = int(ids[0])
                out.append(probe.values[probe.tokens.index(token)])
                lib.llama_sampler_accept(walker, token)
        finally:
            lib.llama_sampler_free(walker)
        return bytes(out), False

    def close(self) -> None:
        if self._sampler:
            self._llama.llama_sampler_free(self._sampler)
            self._sampler = None

    def __enter__(self) -> CompiledGrammar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
