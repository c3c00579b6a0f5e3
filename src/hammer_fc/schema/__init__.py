"""The one vocabulary every stage speaks (:mod:`.types`) and the codec between it and the
outside world's tool descriptions (:mod:`.params`: JSON Schema, BFCL, xLAM; :mod:`.pytype`:
Python type strings)."""

from hammer_fc.schema.types import CANONICAL_TYPES, MISSING, Example, Message, Param, Tool, ToolCall

__all__ = ["CANONICAL_TYPES", "MISSING", "Example", "Message", "Param", "Tool", "ToolCall"]
