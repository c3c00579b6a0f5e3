"""Java and JavaScript argument values, read the way BFCL reads them, and written so that BFCL
reads back a given value.

In the ``simple_java`` and ``simple_javascript`` categories every argument is written as
source code in a string (``"5L"``, ``"new ArrayList<>(Arrays.asList(1, 2))"``,
``"{'a': 1}"``); BFCL turns that string into a Python value according to the parameter's
declared type and then judges the Python value. A string that does not read as the declared
type stays a string, so it fails the type check later instead of failing here. The reading is
deliberately shallow (regular expressions, first match wins) because the leaderboard's verdict
is defined by exactly that reading: a smarter parser would accept outputs BFCL rejects.

BFCL's possible answers hold the values already read (``True``, ``50``, ``{"limit": 50}``), so a
gold *answer* (what a model should write) needs the way back: :func:`java_source` and
:func:`js_source` try the usual spellings of a value and keep the first that reads back as it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from hammer_fc.errors import HammerError

Language = Literal["python", "java", "javascript"]

LIST_TYPES: dict[Language, tuple[str, ...]] = {
    "python": ("array", "tuple"),
    "java": ("Array", "ArrayList"),
    "javascript": ("array",),
}
"""The declared types whose ``items`` give the element type, per language."""

# Anchored with re.match and ``$``: like BFCL, a single trailing newline is tolerated.
_INT = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")
_FLOAT_SUFFIX = re.compile(r"[fF]$")
_LONG_SUFFIX = re.compile(r"[lL]$")
_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")

_ARRAYLIST_ASLIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_ARRAYLIST_ADDS = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_ARRAYLIST_ADD = re.compile(r"add\((.+?)\)")
_ARRAYLIST_EMPTY = re.compile(r"new\s+ArrayList<\w*>\(\)")
_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_HASHMAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_HASHMAP_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_HASHMAP_EMPTY = re.compile(r"new\s+HashMap<.*?>\s*\(\)")

_JS_ARRAY_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
)
_JS_ARRAY_ROW = re.compile(r"\[(.*?)\]")
_JS_ARRAY = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_OBJECT = re.compile(r"\{(.*?)\}")
_JS_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _int_or_text(digits: str, text: str) -> int | str:
    """``int(digits)``, or the original text where Python refuses (over 4300 digits)."""
    try:
        return int(digits)
    except ValueError:
        return text


def _number_or_text(text: str) -> Any:
    """An untyped literal: int if Python reads it as one, else float, else the text itself."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# --- Java -----------------------------------------------------------------------------------


def java_value(text: str, declared: str, item: str | None = None) -> Any:
    """Read a Java argument string as the Python value BFCL compares.

    ``item`` is the element type of an ``Array``/``ArrayList``. Text that does not read as
    ``declared`` is returned unchanged.
    """
    if declared in ("byte", "short", "integer"):
        return _int_or_text(text, text) if _INT.match(text) else text
    if declared == "long":
        return _int_or_text(_LONG_SUFFIX.sub("", text), text) if _JAVA_LONG.match(text) else text
    if declared == "float":
        return float(_FLOAT_SUFFIX.sub("", text)) if _JAVA_FLOAT.match(text) else text
    if declared == "double":
        return float(text) if _JAVA_DOUBLE.match(text) else text
    if declared == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if declared in ("char", "String", "any"):
        # BFCL's char pattern can never match, so a char keeps its quotes like any string.
        return text
    if declared == "Array":
        return _java_array(text, item)
    if declared == "ArrayList":
        return _java_arraylist(text, item)
    if declared == "HashMap":
        return _java_hashmap(text)
    raise HammerError(f"BFCL cannot read Java values of type {declared!r}")


def _java_literal(text: str) -> Any:
    """An element whose type is not declared (HashMap values, untyped collections)."""
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(_FLOAT_SUFFIX.sub("", text))
    return _number_or_text(text)


def _java_array(text: str, item: str | None) -> Any:
    match = _ARRAY.search(text)
    if match is None:
        return text
    parts = [part.strip() for part in match.group(1).split(",") if part.strip()]
    # Array elements go through the scalar reader, so String elements keep their quotes.
    return [java_value(part, item) if item else _java_literal(part) for part in parts]


def _java_arraylist(text: str, item: str | None) -> Any:
    if match := _ARRAYLIST_ASLIST.search(text):
        parts = match.group(1).split(",")
    elif match := _ARRAYLIST_ADDS.search(text):
        parts = _ARRAYLIST_ADD.findall(match.group(1))
    elif _ARRAYLIST_EMPTY.search(text):
        return []
    else:
        return text
    return [_java_arraylist_item(part.strip(), item) for part in parts]


def _java_arraylist_item(text: str, item: str | None) -> Any:
    if item in ("char", "String"):
        return text[1:-1]  # unlike Array, ArrayList drops the quotes
    return java_value(text, item) if item else _java_literal(text)


def _java_hashmap(text: str) -> Any:
    if match := _HASHMAP.search(text):
        body = match.group(1)
        if not body.strip():
            return {}
        return {key: _java_literal(value.strip()) for key, value in _HASHMAP_PUT.findall(body)}
    if _HASHMAP_EMPTY.search(text):
        return {}
    return text


# --- JavaScript -----------------------------------------------------------------------------


def _is_quoted(text: str) -> bool:
    return (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'"))


def js_value(text: str, declared: str, item: str | None = None) -> Any:
    """Read a JavaScript argument string as the Python value BFCL compares.

    ``item`` is the element type of an ``array``. Text that does not read as ``declared`` is
    returned unchanged. An unknown type raises ``ValueError`` (a reader of nested elements
    turns that into "leave the text alone", as BFCL does).
    """
    if declared == "String":
        return text[1:-1] if _is_quoted(text) else text
    if declared == "integer":
        return _int_or_text(text, text) if _INT.match(text) else text
    if declared == "float":
        return float(text) if _JS_FLOAT.match(text) else text
    if declared == "Bigint":
        return _int_or_text(text[:-1], text) if _JS_BIGINT.match(text) else text
    if declared == "Boolean":
        return {"true": True, "false": False}.get(text, text)
    if declared == "any":
        return text
    if declared == "array":
        return _js_array(text.strip(), item)
    if declared == "dict":
        return _js_object(text.strip())
    raise ValueError(f"BFCL cannot read JavaScript values of type {declared!r}")


def _js_literal(text: str) -> Any:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if _is_quoted(text):
        return text[1:-1]
    return _number_or_text(text)


def _js_array(code: str, item: str | None) -> Any:
    if match := _JS_ARRAY_2D.match(code):
        rows = []
        for index, row in enumerate(_JS_ARRAY_ROW.findall(match.group(0))):
            row = row.strip()
            if index == 0 and row.startswith("["):
                row = row[1:]
            # Rows are read untyped even when the element type is declared.
            rows.append([_js_literal(element.strip()) for element in row.split(",")])
        return rows
    match = _JS_ARRAY.match(code)
    if match is None:
        return code
    body = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
    elements = [element.strip() for element in body.split(",")] if body else []
    if not item:
        return [_js_literal(element) for element in elements]
    try:
        return [
            js_value(element, item, "String") if element[:1] in ("'", '"') else js_value(element, item)
            for element in elements
        ]
    except ValueError:
        return code


def _js_object(code: str) -> Any:
    if code == "{}":
        return {}
    match = _JS_OBJECT.match(code)
    if match is None:
        return code
    result = {}
    for raw_key, raw_value in _JS_PAIR.findall(match.group(1)):
        key = raw_key.strip().strip("'\"")
        value = raw_value.strip()
        if value.startswith("[") and value.endswith("]"):
            result[key] = _js_array(value, None)
        elif value.startswith("{") and value.endswith("}"):
            result[key] = _js_object(value)
        else:
            result[key] = _js_literal(value.strip("'\""))
    return result


# --- Writing: the source string that reads back as a value ---------------------------------

_JAVA_ITEM_NAMES = {"integer": "int", "String": "String", "char": "char"}


def _same(read: Any, value: Any) -> bool:
    """Equal and of the same kinds all the way down: numbers compare as numbers (BFCL reads a
    ``float`` element ``60`` as ``60.0`` and accepts it for ``60``), but ``True`` is not ``1``."""
    if isinstance(read, int | float) and isinstance(value, int | float):
        return isinstance(read, bool) is isinstance(value, bool) and read == value
    if type(read) is not type(value):
        return False
    if isinstance(value, list):
        return len(read) == len(value) and all(_same(a, b) for a, b in zip(read, value, strict=True))
    if isinstance(value, dict):
        return read.keys() == value.keys() and all(_same(read[k], value[k]) for k in value)
    return read == value


def _scalar(value: Any, *, quote: bool) -> str | None:
    """A scalar as Java/JavaScript writes it (strings quoted when ``quote``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"' if quote else value
    return None


def _joined(values: list[Any], *, quote: bool) -> str | None:
    parts = [_scalar(v, quote=quote) for v in values]
    return None if any(p is None for p in parts) else ", ".join(parts)  # type: ignore[arg-type]


def _java_elements(values: list[Any], item: str | None, *, quote: bool) -> str | None:
    """List elements as Java writes them: typed scalars as their type reads them (``101L`` for a
    ``long``), anything else as a literal."""
    if item not in (None, "any", "String", "char"):
        parts = [java_source(v, item) for v in values]
        return None if any(p is None for p in parts) else ", ".join(parts)  # type: ignore[arg-type]
    return _joined(values, quote=quote)


def _java_candidates(value: Any, declared: str, item: str | None) -> list[str]:
    if isinstance(value, list):
        if declared == "ArrayList":
            body = _java_elements(value, item, quote=True)
            if body is None:
                return []
            return [f"new ArrayList<>(Arrays.asList({body}))" if body else "new ArrayList<>()"]
        name = _JAVA_ITEM_NAMES.get(item or "", item or "Object")
        bodies = (_java_elements(value, item, quote=q) for q in (False, True))
        return [f"new {name}[]{{{body}}}" for body in bodies if body is not None]
    if isinstance(value, dict):
        puts = [(k, _scalar(v, quote=True)) for k, v in value.items()]
        if any(v is None for _, v in puts):
            return []
        body = " ".join(f'put("{k}", {v});' for k, v in puts)
        return [f"new HashMap<String, Object>() {{{{ {body} }}}}" if body else "new HashMap<>()"]
    text = _scalar(value, quote=False)
    if text is None:
        return []
    if isinstance(value, float):
        return [text, text + "f"]
    if isinstance(value, int) and not isinstance(value, bool):
        return [text, text + "L"]
    return [text, f'"{value}"'] if isinstance(value, str) else [text]


def _read_back(candidates: list[str], read: Callable[[str], Any], value: Any) -> str | None:
    """The first of ``candidates`` that ``read`` turns back into ``value`` (``None``: none does,
    or the declared type is one BFCL cannot read)."""
    for text in candidates:
        try:
            if _same(read(text), value):
                return text
        except (HammerError, ValueError):
            return None
    return None


def java_source(value: Any, declared: str, item: str | None = None) -> str | None:
    """A Java argument string that :func:`java_value` reads back as ``value``, or ``None``."""
    return _read_back(_java_candidates(value, declared, item), lambda t: java_value(t, declared, item), value)


def _js_candidates(value: Any) -> list[str]:
    if isinstance(value, list):
        if value and all(isinstance(row, list) for row in value):
            rows = [_joined(row, quote=True) for row in value]
            return [] if any(r is None for r in rows) else ["[" + ", ".join(f"[{r}]" for r in rows) + "]"]
        body = _joined(value, quote=True)
        return [] if body is None else [f"[{body}]"]
    if isinstance(value, dict):
        pairs = []
        for key, entry in value.items():
            text = (
                _js_candidates(entry)[:1] if isinstance(entry, list | dict) else [_scalar(entry, quote=True)]
            )
            if not text or text[0] is None:
                return []
            pairs.append(f"{key}: {text[0]}")
        return ["{" + ", ".join(pairs) + "}"]
    text = _scalar(value, quote=False)
    if text is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        return [text, text + "n"]
    return [text, f'"{value}"'] if isinstance(value, str) else [text]


def js_source(value: Any, declared: str, item: str | None = None) -> str | None:
    """A JavaScript argument string that :func:`js_value` reads back as ``value``, or ``None``."""
    return _read_back(_js_candidates(value), lambda t: js_value(t, declared, item), value)
