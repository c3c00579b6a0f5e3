"""Java and JavaScript argument values, read the way BFCL reads them.

In the ``simple_java`` and ``simple_javascript`` categories every argument is written as
source code in a string (``"5L"``, ``"new ArrayList<>(Arrays.asList(1, 2))"``,
``"{'a': 1}"``); BFCL turns that string into a Python value according to the parameter's
declared type and then judges the Python value. A string that does not read as the declared
type stays a string, so it fails the type check later instead of failing here. The reading is
deliberately shallow (regular expressions, first match wins) because the leaderboard's verdict
is defined by exactly that reading: a smarter parser would accept outputs BFCL rejects.
"""

from __future__ import annotations

import re
from typing import Any

from hammer_fc.errors import HammerError

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
