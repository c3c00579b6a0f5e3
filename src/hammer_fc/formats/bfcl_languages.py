"""BFCL's Python cases rendered the way its Java and JavaScript categories are: training data
for prompts that BFCL live has none of.

Every live case is Python. The non-live ``simple_java`` and ``simple_javascript`` categories
show their tools with Java or JavaScript types, every parameter as a ``string`` "in string
representation" (BFCL's loader, :func:`hammer_fc.formats.bfcl.with_language_hints`), and want
each value written as source code (``"true"``, ``"5"``, ``"new ArrayList<>(Arrays.asList(1,
2))"``). A model trained on live alone finds those prompts out of distribution (hammer-smol v4
answered ``[]`` on 30 of 50 ``simple_javascript`` cases at Q4_K_M).

``bfcl:live_simple@java`` reads a Python category with its function docs' types translated
(:data:`LANGUAGE_TYPES`), then renders it exactly as a Java case: the language hints, the gold
values as the source strings BFCL reads back as the acceptable values
(:func:`hammer_fc.formats.bfcl.calls_from_ground_truth`). The raw docs in ``meta`` are the
translated ones, so BFCL's checker judges a rendered gold answer as it would a Java case's (every
one of them passes it but the cases whose Python answers already fail).
"""

from __future__ import annotations

import copy
from typing import Any

from hammer_fc.errors import NOT_RENDERABLE, HammerError
from hammer_fc.formats.bfcl_typed import Language

RENDERED_LANGUAGES: tuple[Language, ...] = ("java", "javascript")

LANGUAGE_TYPES: dict[Language, dict[str, str]] = {
    "java": {
        "string": "String",
        "integer": "integer",
        "float": "double",
        "boolean": "boolean",
        "array": "ArrayList",
        "tuple": "Array",
        "dict": "HashMap",
        "any": "any",
    },
    "javascript": {
        "string": "String",
        "integer": "integer",
        "float": "float",
        "boolean": "Boolean",
        "array": "array",
        "tuple": "array",
        "dict": "dict",
        "any": "any",
    },
}
"""BFCL's Python parameter types -> the type names its Java / JavaScript docs use for them."""


def split_language(spec: str) -> tuple[str, Language | None]:
    """``live_simple@java`` -> ``("live_simple", "java")``; a spec without ``@`` -> ``(spec, None)``."""
    base, sep, language = spec.partition("@")
    if not sep:
        return spec, None
    if language not in RENDERED_LANGUAGES:
        raise HammerError(
            f"cannot render BFCL cases as {language!r} (choose from {', '.join(RENDERED_LANGUAGES)})",
            field="bfcl",
        )
    return base, language  # type: ignore[return-value]


def translate_docs(functions: list[Any], language: Language) -> list[Any]:
    """The function docs with every parameter type (list elements and nested properties too)
    named as ``language`` names it; the input is not changed."""
    translated = copy.deepcopy(functions)
    for doc in translated:
        properties = (doc.get("parameters") or {}).get("properties") if isinstance(doc, dict) else None
        for name, spec in (properties or {}).items():
            _translate(spec, language, f"{doc.get('name')}.{name}")
    return translated


def _translate(spec: Any, language: Language, where: str) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise HammerError(f"parameter {where} declares no type", field="function")
    types = LANGUAGE_TYPES[language]
    if spec["type"] not in types:
        raise HammerError(
            f"parameter {where} is of type {spec['type']!r}, which has no {language} rendering",
            field="function",
            kind=NOT_RENDERABLE,
        )
    spec["type"] = types[spec["type"]]
    if isinstance(spec.get("items"), dict):
        _translate(spec["items"], language, where + "[]")
    for name, inner in (spec.get("properties") or {}).items():
        _translate(inner, language, f"{where}.{name}")
