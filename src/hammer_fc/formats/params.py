"""Parameter dialects: JSON Schema (OpenAI ``parameters``) and BFCL's ``dict`` schema <-> :class:`Param`.

BFCL's schema is JSON Schema with its own type names (``dict``, ``float``, ``tuple``, ``any`` and,
in the Java/JavaScript categories, the language's names). Both dialects share one walker; only the
type-name tables differ. The source's type spelling and key order are kept on each ``Param`` so
that writing back to the same dialect is lossless.
"""

from __future__ import annotations

from typing import Any, Literal

from hammer_fc.errors import HammerError
from hammer_fc.schema import MISSING, Param, Tool

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
    "number": "number",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "arraylist": "array",
    "object": "object",
    "dict": "object",
    "hashmap": "object",
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


def canonical_type(source: Any, *, where: str = "type") -> tuple[str, bool]:
    """Map a source type (a name or a JSON-Schema type list) to (canonical type, nullable)."""
    if source is None:
        return "any", False
    if isinstance(source, list):
        names = [canonical_type(s, where=where)[0] for s in source]
        nullable = "null" in names
        rest = [n for n in names if n != "null"]
        return (rest[0] if len(rest) == 1 else "any"), nullable
    if not isinstance(source, str):
        raise HammerError(f"type must be a string, got {source!r}", field=where)
    canonical = _TO_CANONICAL.get(source.strip().lower())
    if canonical is None:
        raise HammerError(f"unknown parameter type {source!r}", field=where)
    return canonical, False


def param_from_spec(name: str, spec: Any, *, required: bool = False, path: str = "") -> Param:
    """Read one property spec (either dialect: the type names are a superset of both)."""
    where = f"{path}{name}" if path else name
    if not isinstance(spec, dict):
        raise HammerError(f"parameter spec must be an object, got {type(spec).__name__}", field=where)
    source = spec.get("type")
    if source is None and ("anyOf" in spec or "oneOf" in spec or "$ref" in spec or not spec):
        ptype, nullable = "any", False
    else:
        ptype, nullable = canonical_type(source, where=f"{where}.type")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise HammerError("description must be a string", field=f"{where}.description")
    enum = spec.get("enum")
    if enum is not None and not isinstance(enum, list):
        raise HammerError("enum must be a list", field=f"{where}.enum")
    items = spec.get("items")
    properties = spec.get("properties")
    nested_required = spec.get("required", [])
    if properties is not None and not isinstance(properties, dict):
        raise HammerError("properties must be an object", field=f"{where}.properties")
    if not isinstance(nested_required, list):
        # Tool-Alpaca style ``"required": true`` on a property is handled by the caller.
        nested_required = []
    return Param(
        name=name,
        type=ptype,
        description=description,
        required=required,
        default=spec.get("default", MISSING),
        enum=enum,
        items=param_from_spec("items", items, path=f"{where}.") if isinstance(items, dict) else None,
        properties=[
            param_from_spec(k, v, required=k in nested_required, path=f"{where}.")
            for k, v in (properties or {}).items()
        ],
        nullable=nullable,
        extra={k: v for k, v in spec.items() if k not in _MODELLED}
        | ({"items": items} if items is not None and not isinstance(items, dict) else {})
        # A ``required`` that is not a property list of this object (Tool-Alpaca's per-parameter
        # ``true``, or a list on a spec without ``properties``) is kept verbatim.
        | ({"required": spec["required"]} if "required" in spec and properties is None else {}),
        source_type=source if isinstance(source, str) else None,
        key_order=tuple(spec.keys()),
    )


def param_to_spec(param: Param, dialect: Dialect) -> dict[str, Any]:
    """Write one property spec; keys follow the source order when we have it."""
    out: dict[str, Any] = {}
    if param.source_type is not None and (
        dialect == "bfcl" or _TO_CANONICAL.get(param.source_type.lower()) == param.source_type
    ):
        out["type"] = param.source_type
    elif param.type != "any" or dialect == "bfcl":
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
            out["required"] = required
    out.update(param.extra)
    if param.key_order:
        rank = {k: i for i, k in enumerate(param.key_order)}
        out = dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return out


def params_from_object(schema: Any, *, path: str = "parameters") -> list[Param]:
    """Read the ``parameters`` object of a function (``{"type": "object"|"dict", "properties", "required"}``)."""
    if schema is None:
        return []
    if not isinstance(schema, dict):
        raise HammerError("parameters must be an object", field=path)
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict):
        raise HammerError("properties must be an object", field=f"{path}.properties")
    if not isinstance(required, list):
        raise HammerError("required must be a list", field=f"{path}.required")
    return [
        param_from_spec(name, spec, required=name in required, path=f"{path}.")
        for name, spec in properties.items()
    ]


def params_to_object(params: list[Param], dialect: Dialect) -> dict[str, Any]:
    """Write a function's ``parameters`` object."""
    return {
        "type": "dict" if dialect == "bfcl" else "object",
        "properties": {p.name: param_to_spec(p, dialect) for p in params},
        "required": [p.name for p in params if p.required],
    }


def tool_from_function(function: Any, *, path: str = "function") -> Tool:
    """Read ``{"name", "description", "parameters"}`` (OpenAI's inner ``function`` or a BFCL doc)."""
    if not isinstance(function, dict):
        raise HammerError("function must be an object", field=path)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise HammerError("function has no name", field=f"{path}.name")
    description = function.get("description", "")
    if not isinstance(description, str):
        raise HammerError("description must be a string", field=f"{path}.description")
    return Tool(
        name=name,
        description=description,
        params=params_from_object(function.get("parameters"), path=f"{path}.parameters"),
        extra={k: v for k, v in function.items() if k not in ("name", "description", "parameters")},
    )


def tool_to_function(tool: Tool, dialect: Dialect) -> dict[str, Any]:
    """Write ``{"name", "description", "parameters"}`` in the given dialect."""
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": params_to_object(tool.params, dialect),
        **tool.extra,
    }
