"""The one exception type a user can cause.

Every reader, converter and command raises :class:`HammerError` for bad input so that the
CLI can print one clean line (what, where) and exit with code 2 instead of a traceback.
"""

from __future__ import annotations

# What is wrong with a record, for the "skipped" counts of ``--skip-invalid`` (``kind``).
MALFORMED = "malformed"
UNKNOWN_FUNCTION = "unknown function"
UNKNOWN_ARGUMENT = "unknown argument"
MISSING_ANSWER = "missing answer"
UNKNOWN_TYPE = "unknown type"
DUPLICATE_TOOL = "duplicate tool name"
NOT_RENDERABLE = "not renderable in the language"


class HammerError(Exception):
    """A problem with the user's input, located as precisely as we can.

    ``where`` is built from the file, the record index and the field so that every message
    reads the same way: ``data.json: record 17: field 'tools': not valid JSON``. ``kind`` says
    what sort of record problem it is (:data:`UNKNOWN_FUNCTION` ...; ``None``: malformed).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: int | str | None = None,
        field: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.message = message
        self.kind = kind
        self.file = file
        self.record = record
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ": ".join([*parts, self.message])

    def located(
        self,
        *,
        file: str | None = None,
        record: int | str | None = None,
        field: str | None = None,
    ) -> HammerError:
        """Return a copy with missing location parts filled in (inner code knows the field,
        outer code knows the file and record)."""
        return HammerError(
            self.message,
            file=self.file if self.file is not None else file,
            record=self.record if self.record is not None else record,
            field=self.field if self.field is not None else field,
            kind=self.kind,
        )
