"""Parameter dialects <-> :class:`Param`: JSON Schema (OpenAI ``parameters``), BFCL's ``dict``
schema, and xLAM's flat name -> spec maps with Python-ish type strings.

BFCL's schema is JSON Schema with its own type names (``dict``, ``float``, ``tuple``, ``any`` and,
in the Java/JavaScript categories, the language's names). Both share one walker; only the
type-name tables differ. xLAM has no wrapper object: ``parameters`` maps each name to
``{"type": "str, optional", "description", "default"}``, and "required" is the absence of an
``optional`` mark (or, in the paper's benchmark files, a per-parameter ``"required": true`` or a
tool-level ``"required"`` list).

The source's type spelling, key order and the layout of the ``parameters`` object are kept on
each ``Param``/``Tool``, so that writing back to the same dialect is lossless (byte-identical for
every BFCL function doc and every xLAM tool). Writing the ``bfcl`` dialect keeps the source's type
spelling whatever the source (the Hammer prompt shows a tool as its source wrote it); writing
``jsonschema`` re-spells every type in JSON-Schema names, deriving ``items`` from ``List[int]``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any, Literal

from hammer_fc.errors import HammerError
from hammer_fc.schema.pytype import (
    PyType,
    format_node,
    is_pythonic,
    json_schema,
    parse_pytype,
    python_spelling,
    resolve,
)
from hammer_fc.schema.types import MISSING, Param, Tool

Dialect = Literal["jsonschema", "bfcl"]

_MODELLED = ("type", "description", "enum", "default", "items", "properties", "required")

# Source type name (lower-cased) -> canonical type.
_TO_CANONICAL: dict[str, str] = {
    "string": "string",
    "str": "string",
    "char": "string",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "short": "integer",
    "byte": "integer",
    "bigint": "integer",
    "number": "number",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "arraylist": "array",
    "set": "array",
    "queue": "array",
    "stack": "array",
    "object": "object",
    "dict": "object",
    "hashmap": "object",
    "hashtable": "object",
    "map": "object",
    "null": "null",
    "any": "any",
    "": "any",
}

_FROM_CANONICAL: dict[Dialect, dict[str, str]] = {
    "jsonschema": {t: t for t in ("string", "integer", "number", "boolean", "array", "object", "null")},
    "bfcl": {
        "string": "string",
        "integer": "integer",
        "number": "float",
        "boolean": "boolean",
        "array": "array",
        "object": "dict",
        "null": "any",
        "any": "any",
    },
}

_JSON_TYPES = frozenset(_FROM_CANONICAL["jsonschema"])
_DEFAULT_LAYOUT = Param(name="parameters", type="object", key_order=("type", "properties", "required"))


@lru_cache(maxsize=4096)
def _pytype(text: str) -> PyType:
    """Type strings repeat across a data set (``str``, ``int, optional``): parse each once."""
    return parse_pytype(text)


def canonical_type(source: Any, *, where: str = "type") -> tuple[str, bool]:
    """Map a source type (a name, a Python-ish string or a JSON-Schema type list) to
    (canonical type, nullable)."""
    if source is None:
        return "any", False
    if isinstance(source, list):
        names = [canonical_type(s, where=where)[0] for s in source]
        nullable = "null" in names
        rest = [n for n in names if n != "null"]
        if not rest and nullable:
            return "null", False
        return (rest[0] if len(rest) == 1 else "any"), nullable
    if not isinstance(source, str):
        raise HammerError(f"type must be a string, got {source!r}", field=where)
    canonical = _TO_CANONICAL.get(source.strip().lower())
    if canonical is not None:
        return canonical, False
    resolved = resolve(parse_pytype(source, strict=True, field=where).node, strict=True, field=where)
    return resolved.type, resolved.nullable


def _type_list(source: Any) -> tuple[str, ...]:
    """The canonical types of a JSON-Schema type list naming several besides ``null`` (which
    :func:`canonical_type` reads as ``any``), for :attr:`Param.types`."""
    if not isinstance(source, list):
        return ()
    names = [n for n in dict.fromkeys(canonical_type(s)[0] for s in source) if n != "null"]
    return tuple(names) if len(names) > 1 and "any" not in names else ()


def _check_description(spec: dict[str, Any], where: str) -> str:
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise HammerError("description must be a string", field=f"{where}.description")
    return description


def _check_enum(spec: dict[str, Any], where: str) -> list[Any] | None:
    enum = spec.get("enum")
    if enum is not None and not isinstance(enum, list):
        raise HammerError("enum must be a list", field=f"{where}.enum")
    return enum


def _required_order(properties: dict[str, Any], required: list[Any]) -> tuple[str, ...]:
    """The source's ``required`` order, kept only where it differs from the property order."""
    in_property_order = [k for k in properties if k in required]
    return () if required == in_property_order else tuple(r for r in required if isinstance(r, str))


def param_from_spec(name: str, spec: Any, *, required: bool = False, path: str = "") -> Param:
    """Read one property spec (JSON Schema or BFCL: the type names are a superset of both)."""
    where = f"{path}{name}" if path else name
    if not isinstance(spec, dict):
        raise HammerError(f"parameter spec must be an object, got {type(spec).__name__}", field=where)
    source = spec.get("type")
    if source is None and ("anyOf" in spec or "oneOf" in spec or "$ref" in spec or not spec):
        ptype, nullable = "any", False
    else:
        ptype, nullable = canonical_type(source, where=f"{where}.type")
    items = spec.get("items")
    properties = spec.get("properties")
    nested_required = spec.get("required", [])
    if properties is not None and not isinstance(properties, dict):
        raise HammerError("properties must be an object", field=f"{where}.properties")
    if not isinstance(nested_required, list):
        nested_required = []  # a per-parameter ``"required": true`` is kept verbatim in ``extra``
    return Param(
        name=name,
        type=ptype,
        description=_check_description(spec, where),
        required=required,
        default=spec.get("default", MISSING),
        enum=_check_enum(spec, where),
        items=param_from_spec("items", items, path=f"{where}.") if isinstance(items, dict) else None,
        properties=[
            param_from_spec(k, v, required=k in nested_required, path=f"{where}.")
            for k, v in (properties or {}).items()
        ],
        nullable=nullable,
        types=_type_list(source),
        extra={k: v for k, v in spec.items() if k not in _MODELLED}
        | ({"items": items} if items is not None and not isinstance(items, dict) else {})
        # A ``required`` that is not a property list of this object (Tool-Alpaca's per-parameter
        # ``true``, or a list on a spec without ``properties``) is kept verbatim.
        | ({"required": spec["required"]} if "required" in spec and properties is None else {}),
        source_type=source if isinstance(source, str) else None,
        key_order=tuple(spec.keys()),
        required_order=_required_order(properties or {}, nested_required),
    )


def param_to_spec(param: Param, dialect: Dialect) -> dict[str, Any]:
    """Write one property spec; keys follow the source order when we have it."""
    out: dict[str, Any] = {}
    if param.source_type is not None and (dialect == "bfcl" or param.source_type in _JSON_TYPES):
        out["type"] = param.source_type
    elif param.source_type is not None and dialect == "jsonschema":
        out.update(json_schema(_pytype(param.source_type).node)[0])  # List[Dict[str, int]], whole
    elif param.types and dialect == "jsonschema":
        out["type"] = [*param.types, "null"] if param.nullable else list(param.types)
    elif param.type != "any" or (dialect == "bfcl" and (not param.key_order or "type" in param.key_order)):
        # BFCL spells "any" out, except for a spec whose source had no type (xLAM's description-only
        # parameters): the Hammer prompt shows a tool as its source wrote it.
        ptype = _FROM_CANONICAL[dialect].get(param.type, param.type)
        out["type"] = [ptype, "null"] if param.nullable and dialect == "jsonschema" else ptype
    if param.description or "description" in param.key_order:
        out["description"] = param.description
    if param.enum is not None:
        out["enum"] = param.enum
    if param.has_default:
        out["default"] = param.default
    if param.items is not None:
        out["items"] = param_to_spec(param.items, dialect)
    if param.properties or "properties" in param.key_order:
        out["properties"] = {p.name: param_to_spec(p, dialect) for p in param.properties}
        required = [p.name for p in param.properties if p.required]
        if required or "required" in param.key_order:
            out["required"] = (
                list(param.required_order) if sorted(param.required_order) == sorted(required) else required
            )
    out.update(param.extra)
    return _ordered(out, param.key_order)


def _ordered(out: dict[str, Any], key_order: tuple[str, ...]) -> dict[str, Any]:
    if not key_order:
        return out
    rank = {k: i for i, k in enumerate(key_order)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def _layout_from_object(schema: Any, *, path: str) -> Param:
    """Read a function's ``parameters`` object as one object ``Param`` (properties included)."""
    if not isinstance(schema, dict):
        raise HammerError("parameters must be an object", field=path)
    if not isinstance(schema.get("properties", {}), dict):
        raise HammerError("properties must be an object", field=f"{path}.properties")
    if not isinstance(schema.get("required", []), list):
        raise HammerError("required must be a list", field=f"{path}.required")
    head, _, name = path.rpartition(".")
    return param_from_spec(name, schema, path=f"{head}." if head else "")


def params_to_object(params: list[Param], dialect: Dialect, layout: Param | None = None) -> dict[str, Any]:
    """Write a function's ``parameters`` object (in the source's layout when ``layout`` is given).

    ``type``, ``properties`` and ``required`` are always there (BFCL's checker reads ``required``),
    and a BFCL object is a ``dict`` whatever the source called it."""
    root = layout or _DEFAULT_LAYOUT
    order = root.key_order + tuple(k for k in _DEFAULT_LAYOUT.key_order if k not in root.key_order)
    source_type = "dict" if dialect == "bfcl" else root.source_type
    return param_to_spec(
        replace(root, type="object", properties=params, key_order=order, source_type=source_type), dialect
    )


def tool_from_function(function: Any, *, path: str = "function") -> Tool:
    """Read ``{"name", "description", "parameters"}`` (OpenAI's inner ``function`` or a BFCL doc)."""
    if not isinstance(function, dict):
        raise HammerError("function must be an object", field=path)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise HammerError("function has no name", field=f"{path}.name")
    description = _check_description(function, path)
    schema = function.get("parameters")
    root = None if schema is None else _layout_from_object(schema, path=f"{path}.parameters")
    return Tool(
        name=name,
        description=description,
        params=root.properties if root is not None else [],
        extra={k: v for k, v in function.items() if k not in ("name", "description", "parameters")},
        layout=replace(root, properties=[]) if root is not None else None,
    )


def tool_to_function(tool: Tool, dialect: Dialect) -> dict[str, Any]:
    """Write ``{"name", "description", "parameters"}`` in the given dialect."""
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": params_to_object(tool.params, dialect, tool.layout),
        **tool.extra,
    }


# --- xLAM flat maps -------------------------------------------------------------------------


def param_from_xlam(name: str, spec: Any, *, required: bool | None = None, path: str = "") -> Param:
    """Read one xLAM parameter spec. ``required`` (from a tool-level list) overrides the spec's
    own marks: a per-parameter ``"required": bool``, else the absence of ``optional`` in the type."""
    where = f"{path}{name}" if path else name
    if not isinstance(spec, dict):
        raise HammerError(f"parameter spec must be an object, got {type(spec).__name__}", field=where)
    source = spec.get("type")
    optional = False
    if isinstance(source, str):
        parsed = _pytype(source)
        resolved = resolve(parsed.node)
        ptype, nullable, optional = resolved.type, resolved.nullable, parsed.optional
    else:
        ptype, nullable = canonical_type(source, where=f"{where}.type")  # None or a JSON type list
    own_required = spec.get("required")
    if required is None:
        required = own_required if isinstance(own_required, bool) else not optional
    items = spec.get("items")
    properties = spec.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise HammerError("properties must be an object", field=f"{where}.properties")
    nested_required = own_required if isinstance(own_required, list) and properties is not None else None
    if nested_required is not None:
        own_required = None  # a list of required properties, not this parameter's own mark
    return Param(
        name=name,
        type=ptype,
        description=_check_description(spec, where),
        required=required,
        default=spec.get("default", MISSING),
        enum=_check_enum(spec, where),
        items=param_from_xlam("items", items, required=False, path=f"{where}.")
        if isinstance(items, dict)
        else None,
        properties=[
            param_from_xlam(
                k, v, required=None if nested_required is None else k in nested_required, path=f"{where}."
            )
            for k, v in (properties or {}).items()
        ],
        nullable=nullable,
        extra={k: v for k, v in spec.items() if k not in _MODELLED}
        | ({"items": items} if items is not None and not isinstance(items, dict) else {})
        | (
            {"required": own_required}
            if own_required is not None and not isinstance(own_required, bool)
            else {}
        ),
        source_type=source if isinstance(source, str) else None,
        key_order=tuple(spec.keys()),
        required_order=_required_order(properties or {}, nested_required or []),
    )


def _is_jsonschema_object(parameters: Any) -> bool:
    """``{"type": "object"|"dict", "properties": {...}}``: a flat map whose parameter is named
    ``type`` holds a spec object there, never one of these strings."""
    return (
        isinstance(parameters, dict)
        and parameters.get("type") in ("object", "dict")
        and isinstance(parameters.get("properties"), dict)
    )


def tool_from_xlam(tool: Any, *, path: str = "tool") -> Tool:
    """Read an xLAM tool ``{"name", "description", "parameters": {name: spec}}``.

    Tools whose ``parameters`` is a JSON-Schema object (some files mix both) are read as such; a
    tool-level ``"required": [...]`` list (Seal-Tools) decides which parameters are required.
    Other top-level keys (``return``) are kept in ``Tool.extra``.
    """
    if not isinstance(tool, dict):
        raise HammerError(f"tool must be an object, got {type(tool).__name__}", field=path)
    parameters = tool.get("parameters")
    if _is_jsonschema_object(parameters):
        return tool_from_function(tool, path=path)
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise HammerError("tool has no name", field=f"{path}.name")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise HammerError("parameters must be an object", field=f"{path}.parameters")
    listed = tool.get("required")
    if listed is not None and not isinstance(listed, list):
        raise HammerError("required must be a list", field=f"{path}.required")
    # Tool-Alpaca marks required parameters with ``"required": true``: where a tool uses such
    # marks, a parameter without one is optional.
    flagged = any(isinstance(s, dict) and isinstance(s.get("required"), bool) for s in parameters.values())

    def required(name: str, spec: Any) -> bool | None:
        if listed is not None:
            return name in listed
        if flagged and not (isinstance(spec, dict) and isinstance(spec.get("required"), bool)):
            return False
        return None  # the spec's own marks decide

    return Tool(
        name=name,
        description=_check_description(tool, path),
        params=[
            param_from_xlam(k, v, required=required(k, v), path=f"{path}.parameters.")
            for k, v in parameters.items()
        ],
        extra={k: v for k, v in tool.items() if k not in ("name", "description", "parameters", "required")},
    )


def _keeps(source: str | None, respell: bool) -> bool:
    """Whether the source's type spelling can stand in xLAM (any spelling that came from a flat
    map; only Python spellings when ``respell``, for tools read from JSON Schema or BFCL)."""
    return source is not None and (not respell or is_pythonic(_pytype(source).node))


def _xlam_base(param: Param, respell: bool) -> str:
    """A parameter's type without any ``optional`` mark: the source's if it can stand, else
    spelled in Python from the canonical type (``List[int]`` from an ``items`` spec)."""
    if param.source_type is not None and _keeps(param.source_type, respell):
        return _pytype(param.source_type).head
    if param.type == "array":
        return python_spelling("array", _xlam_item(param.items, respell) if param.items is not None else None)
    return python_spelling(param.type)


def _xlam_item(items: Param, respell: bool) -> str:
    """An array's element type inside ``List[...]``; a nullable element is ``Optional[...]``."""
    base = _xlam_base(items, respell)
    return f"Optional[{base}]" if items.nullable and not _keeps(items.source_type, respell) else base


def _has_required_flag(param: Param) -> bool:
    """Whether the source marked this parameter with its own ``"required": bool`` (Tool-Alpaca)."""
    return "required" in param.key_order and "required" not in param.extra and not param.properties


def _xlam_type(param: Param, *, marked: bool, respell: bool) -> str | None:
    """The ``type`` string for xLAM. Requiredness lives in the type (``, optional``) unless the
    source marked it with a ``required`` key or ``marked`` is off (array items); ``None`` = no
    type key (a description-only spec stays one)."""
    optional = marked and not param.required and not _has_required_flag(param)
    source = param.source_type
    parsed = _pytype(source) if source is not None else None
    if parsed is not None and _keeps(source, respell):
        if parsed.optional == optional or not marked or _has_required_flag(param):
            return source
        if optional:
            return f"{parsed.head}, optional"
        if parsed.node.key != "optional":
            return parsed.head
        # Required now but typed ``Optional[X]``: re-spelled below as ``Union[X, None]``.
        base = format_node(parsed.node.args[0]) if parsed.node.args else "Any"
    elif source is None and param.type == "any" and param.key_order and "type" not in param.key_order:
        return "Any, optional" if optional else None
    else:
        base = _xlam_base(param, respell)
    if param.nullable:
        return f"Optional[{base}]" if optional else f"Union[{base}, None]"
    return f"{base}, optional" if optional else base


def _needs_spec(param: Param) -> bool:
    """Whether an item spec says more than a type string can (description, enum, properties...)."""
    return bool(
        param.description
        or param.enum is not None
        or param.properties
        or param.extra
        or param.has_default
        or (param.items is not None and _needs_spec(param.items))
    )


def _xlam_items_needed(param: Param, items: Param, ptype: str | None) -> bool:
    """An ``items`` spec is written when the type string cannot carry it (``tuple``, or an item
    with a description), or when the source wrote both (``"type": "tuple", "items": {...}``)."""
    if ptype is None or _needs_spec(items) or resolve(_pytype(ptype).node).item is None:
        return True
    source = param.source_type
    return "items" in param.key_order and source is not None and _pytype(source).head == _pytype(ptype).head


def param_to_xlam(param: Param, *, marked: bool = True, respell: bool = True) -> dict[str, Any]:
    """Write one xLAM parameter spec (keys in the source's order when we have it). An object's
    properties are nested xLAM specs; ``marked`` is off for array items (never "optional");
    ``respell`` re-spells JSON-Schema/BFCL type names in Python (see :func:`tool_to_xlam`)."""
    out: dict[str, Any] = {}
    ptype = _xlam_type(param, marked=marked, respell=respell)
    if ptype is not None:
        out["type"] = ptype
    if param.description or "description" in param.key_order or not param.key_order:
        out["description"] = param.description
    if param.enum is not None:
        out["enum"] = param.enum
    if param.has_default:
        out["default"] = param.default
    if param.items is not None and _xlam_items_needed(param, param.items, ptype):
        out["items"] = param_to_xlam(param.items, marked=False, respell=respell)
    if param.properties or "properties" in param.key_order:
        out["properties"] = {p.name: param_to_xlam(p, respell=respell) for p in param.properties}
        if "required" in param.key_order and "required" not in param.extra:
            required = [p.name for p in param.properties if p.required]
            ordered = sorted(param.required_order) == sorted(required)
            out["required"] = list(param.required_order) if ordered else required
    elif _has_required_flag(param):
        out["required"] = param.required
    out.update(param.extra)
    return _ordered(out, param.key_order)


def tool_to_xlam(tool: Tool) -> dict[str, Any]:
    """Write an xLAM tool: ``{"name", "description", "parameters": {name: spec}}`` + extra keys.

    A tool read from a flat map keeps its type strings as written (``integer`` stays
    ``integer``); one read from JSON Schema or BFCL (it has a ``layout``) gets Python spellings."""
    respell = tool.layout is not None
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": {p.name: param_to_xlam(p, respell=respell) for p in tool.params},
        **tool.extra,
    }
