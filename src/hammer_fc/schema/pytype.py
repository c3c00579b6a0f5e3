"""Python-ish type strings as xLAM and the paper's benchmark files write them.

``str``, ``List[int]``, ``Dict[str, Any]``, ``str, optional``, ``Optional[int]``, ``int | None``,
``Union[int, float]``, ``Tuple[float, float]``, ``Callable[[float], float]``, ``Literal['a', 'b']``:
a small grammar, parsed here into a tree so that a reader can map it to a canonical JSON type (and
item type) while the original string is kept verbatim for writing back. An identifier we cannot
map (``foo``) reads as ``any`` when ``strict`` is off, so reading (evaluation) never fails on it;
the commands that write data report it (:func:`unknown_names`, :mod:`hammer_fc.formats.checks`):
an error, or a record skipped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hammer_fc.errors import UNKNOWN_TYPE, HammerError

# Lower-cased identifier -> canonical JSON type. Container names are handled with their args.
_NAMES: dict[str, str] = {
    **dict.fromkeys(("str", "string", "char", "text", "bytes", "datetime", "date", "time"), "string"),
    **dict.fromkeys(("int", "integer", "long", "short", "byte", "bigint"), "integer"),
    **dict.fromkeys(("float", "number", "double", "decimal"), "number"),
    **dict.fromkeys(("bool", "boolean"), "boolean"),
    **dict.fromkeys(
        ("list", "array", "tuple", "set", "frozenset", "sequence", "iterable", "arraylist", "queue", "stack"),
        "array",
    ),
    "ndarray": "array",  # np.ndarray
    **dict.fromkeys(("dict", "object", "mapping", "map", "hashmap", "hashtable", "typeddict"), "object"),
    **dict.fromkeys(("none", "nonetype", "null"), "null"),
    **dict.fromkeys(("any", "callable", "function", "literal", "optional", "union", ""), "any"),
}

# Spellings that belong to JSON Schema or BFCL (Java/JavaScript), never to Python: a type written
# like this came from another dialect and is re-spelled when writing xLAM.
FOREIGN_NAMES = frozenset(
    {"string", "integer", "number", "boolean", "array", "object", "null", "String", "Boolean", "HashMap"}
    | {"Hashtable", "ArrayList", "Array", "Bigint", "long", "double", "char", "byte", "short", "Queue"}
    | {"Stack"}
)

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][\w.]*)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<ellipsis>\.\.\.)|(?P<punct>[\[\],|]))"
)


@dataclass(frozen=True)
class TypeNode:
    """One node of a parsed type: ``List[int]`` is ``TypeNode("List", (TypeNode("int"),))``.

    ``kind`` is ``name`` for identifiers, ``list`` for a bracketed argument list (``Callable``'s
    first argument), ``literal`` for a quoted string or a number, ``ellipsis`` for ``...`` and
    ``opaque`` for a whole string outside the grammar.
    """

    text: str
    args: tuple[TypeNode, ...] = ()
    kind: str = "name"

    @property
    def key(self) -> str:
        """The identifier's last component, lower-cased: ``typing.List`` -> ``list``."""
        return self.text.rsplit(".", 1)[-1].lower()


@dataclass(frozen=True)
class PyType:
    """A parsed type string: the expression, and whether the string marks it optional."""

    node: TypeNode
    optional: bool
    head: str = ""
    """The type expression without the remark, stripped: ``str`` for ``str, optional``."""


class _Parser:
    """Recursive descent over the tokens of one type expression; raises ``ValueError``."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        text = text.rstrip()
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"unexpected {text[pos:].strip()[:10]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind).strip()))
            pos = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ValueError(f"expected {value or 'a type'}")
        self.i += 1
        return token

    def expression(self) -> TypeNode:
        """``atom ('|' atom)*``; a PEP 604 union becomes ``Union[...]``."""
        members = [self.atom()]
        while (token := self.peek()) is not None and token[1] == "|":
            self.take("|")
            members.append(self.atom())
        return members[0] if len(members) == 1 else TypeNode("Union", tuple(members))

    def arguments(self, close: str) -> tuple[TypeNode, ...]:
        args: list[TypeNode] = []
        if (token := self.peek()) is not None and token[1] == close:
            self.take(close)
            return ()
        while True:
            args.append(self.expression())
            token = self.take()
            if token[1] == close:
                return tuple(args)
            if token[1] != ",":
                raise ValueError(f"expected ',' or {close!r}")

    def atom(self) -> TypeNode:
        kind, value = self.take()
        if kind == "name":
            if (token := self.peek()) is not None and token[1] == "[":
                self.take("[")
                return TypeNode(value, self.arguments("]"))
            return TypeNode(value)
        if kind in ("str", "num"):
            return TypeNode(value, kind="literal")
        if kind == "ellipsis":
            return TypeNode(value, kind="ellipsis")
        if value == "[":
            return TypeNode("[]", self.arguments("]"), kind="list")
        raise ValueError(f"unexpected {value!r}")


def parse_pytype(text: str, *, strict: bool = False, field: str = "type") -> PyType:
    """Parse ``EXPR`` or ``EXPR, optional`` (anything after the top-level comma is a remark:
    ``optional`` or a ``default=...`` note; both make the parameter optional).

    A string outside the grammar (``int or str``) is an error when ``strict``, else an opaque
    node that resolves to ``any`` and is written back verbatim."""
    if not isinstance(text, str):
        raise HammerError(f"type must be a string, got {text!r}", field=field)
    head, suffix = _split_top_comma(text)
    try:
        parser = _Parser(head)
        node = parser.expression() if parser.tokens else TypeNode("")
        if (token := parser.peek()) is not None:
            raise ValueError(f"unexpected {token[1]!r}")
    except ValueError as err:
        if strict:
            raise HammerError(f"cannot parse type {text!r}: {err}", field=field, kind=UNKNOWN_TYPE) from None
        opaque = TypeNode(text.strip(), kind="opaque")
        return PyType(node=opaque, optional="optional" in text.lower(), head=text.strip())
    remark = suffix.strip().lower()
    # ``Optional[int]`` reads as "may be left out", as the data means it; ``int | None`` and
    # ``Union[int, None]`` only say that null is a value.
    optional = "optional" in remark or remark.startswith("default") or node.key == "optional"
    return PyType(node=node, optional=optional, head=head.strip())


def _split_top_comma(text: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:i], text[i + 1 :]
    return text, ""


@dataclass(frozen=True)
class Resolved:
    """A type tree mapped to JSON terms."""

    type: str
    nullable: bool = False
    item: TypeNode | None = None
    """For arrays with one element type (``List[int]``, ``Tuple[float, ...]``): that type."""


def resolve(node: TypeNode, *, strict: bool = False, field: str = "type") -> Resolved:
    """Map a parsed type to a canonical JSON type (see :data:`hammer_fc.schema.CANONICAL_TYPES`)."""
    if node.kind == "literal":
        return Resolved("string" if node.text[:1] in "'\"" else "number" if "." in node.text else "integer")
    if node.kind != "name":
        return Resolved("any")
    key = node.key
    if key == "optional" and len(node.args) == 1:
        inner = resolve(node.args[0], strict=strict, field=field)
        return Resolved(inner.type, True, inner.item)
    if key in ("union", "literal") and node.args:
        members = [resolve(a, strict=strict, field=field) for a in node.args]
        nullable = any(m.type == "null" for m in members) or any(m.nullable for m in members)
        kinds = {(m.type, m.item) for m in members if m.type != "null"}
        if {k for k, _ in kinds} == {"integer", "number"}:
            return Resolved("number", nullable)  # an int is a valid number
        if len(kinds) == 1:
            ptype, item = kinds.pop()
            return Resolved(ptype, nullable, item)
        return Resolved("any", nullable)
    canonical = _NAMES.get(key)
    if canonical is None:
        if strict:
            raise HammerError(f"unknown parameter type {node.text!r}", field=field, kind=UNKNOWN_TYPE)
        return Resolved("any")
    if canonical == "array":
        return Resolved("array", item=_element_type(node, strict=strict, field=field))
    return Resolved(canonical)


def _element_type(node: TypeNode, *, strict: bool, field: str) -> TypeNode | None:
    args = node.args
    if node.key == "tuple" and len(args) == 2 and args[1].kind == "ellipsis":
        return args[0]
    if len(args) == 1:
        return args[0]
    if len(args) > 1 and len({resolve(a, strict=strict, field=field) for a in args}) == 1:
        return args[0]  # homogeneous Tuple[float, float]
    return None


def unknown_names(node: TypeNode) -> list[str]:
    """The parts of a parsed type that map to no JSON type, outermost first: identifiers such as
    ``foo`` (in ``List[foo]`` too), or the whole string when it is outside the grammar. Reading
    is lenient (they are ``any``); the checks of :mod:`hammer_fc.formats.checks` report them."""
    if node.kind == "opaque":
        return [node.text]
    unknown = [node.text] if node.kind == "name" and node.key not in _NAMES else []
    for arg in node.args:
        unknown += unknown_names(arg)
    return unknown


_JSON_NAMES = {"string", "integer", "number", "boolean", "null"}
_NO_JSON_FORM = {"callable", "function"}
"""Python types JSON Schema has no way to say: written as no type, and reported as lost."""


def json_schema(node: TypeNode) -> tuple[dict[str, Any], list[str]]:
    """The JSON Schema of a parsed type, as deep as JSON Schema goes (``List[Dict[str, int]]``:
    an array of objects whose values are integers), and what it could not say: identifiers we
    cannot map, ``Callable``, non-string ``Dict`` keys, strings outside the grammar.

    ``Optional``/``Union`` become a ``type`` list (or ``anyOf`` when a member is more than a
    type name), ``Literal`` an ``enum``, a fixed ``Tuple`` ``prefixItems`` (``items`` when its
    elements share one type) with its length."""
    lost: list[str] = []
    return _schema(node, lost), lost


def _schema(node: TypeNode, lost: list[str]) -> dict[str, Any]:
    if node.kind == "opaque" or node.kind != "name":
        lost.append(node.text)
        return {}
    key, args = node.key, node.args
    if key == "optional" and len(args) == 1:
        return _union([_schema(args[0], lost), {"type": "null"}])
    if key == "union" and args:
        return _union([_schema(a, lost) for a in args])
    if key == "literal" and args:
        values = [_literal(a) for a in args]
        kinds = {resolve(a).type for a in args}
        return ({"type": kinds.pop()} if len(kinds) == 1 else {}) | {"enum": values}
    canonical = _NAMES.get(key)
    if canonical is None or key in _NO_JSON_FORM:
        lost.append(format_node(node))
        return {}
    if canonical in _JSON_NAMES:
        return {"type": canonical}
    if canonical == "array":
        return _array(node, lost)
    if canonical == "object":
        out: dict[str, Any] = {"type": "object"}
        if len(args) == 2:
            if resolve(args[0]).type not in ("string", "any"):
                lost.append(f"{format_node(args[0])} keys")  # JSON object keys are strings
            values = _schema(args[1], lost)
            if values:
                out["additionalProperties"] = values
        return out
    return {}  # any


def _array(node: TypeNode, lost: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array"}
    args = node.args
    if node.key == "tuple" and len(args) == 2 and args[1].kind == "ellipsis":
        args = args[:1]
    elif node.key == "tuple" and args:
        members = [_schema(a, lost) for a in args]
        if all(m == members[0] for m in members):
            out["items"] = members[0]
        else:
            out["prefixItems"] = members
        return out | {"minItems": len(args), "maxItems": len(args)}
    if len(args) == 1:
        out["items"] = _schema(args[0], lost)  # {} for List[Any], as an items spec of type any writes
    return out


def _union(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema accepting any of ``members``: a ``type`` list where each member is one type
    with keywords of its own (``items`` only constrain arrays), ``anyOf`` otherwise. An int is a
    number (``Union[int, float]`` is ``number``)."""
    if any(not m for m in members):
        return {}  # a member admits anything
    unique = [m for i, m in enumerate(members) if m not in members[:i]]
    types = [m.get("type") for m in unique]
    if "number" in types and {"type": "integer"} in unique:
        unique.remove({"type": "integer"})
        types.remove("integer")
    keys = [k for m in unique for k in m if k != "type"]
    one_type_each = all(isinstance(t, str) for t in types) and len(set(types)) == len(types)
    if one_type_each and len(set(keys)) == len(keys) and "enum" not in keys:
        merged: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
        for m in unique:
            merged.update((k, v) for k, v in m.items() if k != "type")
        return merged
    return {"anyOf": unique}


def _literal(node: TypeNode) -> Any:
    if node.kind != "literal":
        return node.text
    text = node.text
    if text[:1] in "'\"":
        return text[1:-1]
    return float(text) if "." in text else int(text)


def format_node(node: TypeNode) -> str:
    """Write a type tree back as text (``List[Dict[str, Any]]``)."""
    if node.kind == "list":
        return "[" + ", ".join(format_node(a) for a in node.args) + "]"
    if node.args:
        return node.text + "[" + ", ".join(format_node(a) for a in node.args) + "]"
    return node.text


def is_pythonic(node: TypeNode) -> bool:
    """Whether a type tree uses Python spellings only (so an xLAM writer may keep it verbatim)."""
    if node.kind == "name" and node.text in FOREIGN_NAMES:
        return False
    return all(is_pythonic(a) for a in node.args)


_PY_NAMES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "object": "dict",
    "null": "None",
    "any": "Any",
}


def python_spelling(ptype: str, item: str | None = None) -> str:
    """The Python-ish spelling of a canonical type (``array`` with an item -> ``List[int]``)."""
    if ptype == "array":
        return f"List[{item}]" if item else "list"
    return _PY_NAMES.get(ptype, "Any")
