"""The one vocabulary every stage speaks: tools, their parameters, tool calls and examples.

Readers turn outside formats into these types and writers turn them back; augmentation,
prompts, training, evaluation and serving only ever see these. Parameters are typed with
JSON-Schema's type names (``string``, ``integer``, ``number``, ``boolean``, ``array``,
``object``, ``null``) plus ``any``; the type as the source spelled it (``float``, ``dict``,
``List[int]``, ``String``) and the source's key order are kept so that a writer for the same
dialect reproduces the source exactly (BFCL's Hammer handler renders tools with
``json.dumps``, so byte-identical prompts need the original order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CANONICAL_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null", "any")


class _Missing:
    """Sentinel for "no default": ``None`` is a legitimate default value."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict) -> _Missing:
        return self

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class Param:
    """One parameter of a tool (or an array item / object property, nested)."""

    name: str
    type: str = "any"
    description: str = ""
    required: bool = False
    default: Any = MISSING
    enum: list[Any] | None = None
    items: Param | None = None
    properties: list[Param] = field(default_factory=list)
    nullable: bool = False
    types: tuple[str, ...] = ()
    """For a JSON-Schema type list naming several types besides ``null`` (``type`` is then
    ``any``): those types, canonical, in the source's order, so a JSON-Schema writer keeps them."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys of the source spec we do not model (``format``, ``minimum``, ``optional`` ...), verbatim."""
    source_type: str | None = None
    """The type exactly as the source wrote it, for writers of the same dialect."""
    key_order: tuple[str, ...] = ()
    """The source spec's key order, for writers of the same dialect."""
    required_order: tuple[str, ...] = ()
    """For an object: its ``required`` list in the source's order when that differs from the
    property order (writers use it only while it still names exactly the required properties)."""

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    def property(self, name: str) -> Param | None:
        return next((p for p in self.properties if p.name == name), None)


@dataclass
class Tool:
    """A callable function offered to the model."""

    name: str
    description: str = ""
    params: list[Param] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Top-level keys we do not model (``return``, ``response`` ...), verbatim."""
    layout: Param | None = None
    """The ``parameters`` object as the source wrote it (type spelling, key order, keys such as
    BFCL's ``optional``) with no properties: those are ``params``. Only writers read it."""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def required(self) -> list[str]:
        return [p.name for p in self.params if p.required]


@dataclass
class ToolCall:
    """A call the model makes (or should make): a function name and its arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class Message:
    """One conversation turn; assistant turns may carry earlier tool calls."""

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


@dataclass
class Example:
    """A conversation, the candidate tools, and the right calls.

    ``calls == []`` means the right answer is *no call*; ``calls is None`` means the source
    does not say (BFCL ``live_relevance``: any call is right). ``meta`` carries what a
    particular source adds (BFCL's acceptable-value lists, the category, the source file).
    """

    messages: list[Message]
    tools: list[Tool]
    calls: list[ToolCall] | None = None
    id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The last user turn: what the model must answer now."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)
