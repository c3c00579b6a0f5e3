"""Record-level plumbing every reader and writer shares: files of records (a JSON list or JSON
Lines), JSON fields that arrive as strings, calls and conversation turns.

Readers are generators of ``Example | HammerError`` so that one driver
(:func:`hammer_fc.formats.read_examples`) decides whether a bad record stops the run or is
skipped and counted; errors carry the file, the 0-based record index and the field.
"""

from __future__ import annotations

import ast
import json
import mmap
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from hammer_fc.errors import HammerError
from hammer_fc.outputs import atomic_output
from hammer_fc.schema import Example, Message, ToolCall

Reader = Callable[[Path], Iterator["Example | HammerError"]]
RecordReader = Callable[[Any, int, Path], Example]


def _loads(data: str | bytes) -> Any:
    """orjson for speed; the standard library where orjson refuses (huge ints, NaN)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HammerError("no such file", file=str(path)) from None
    except OSError as err:
        raise HammerError(f"cannot read: {err.strerror}", file=str(path)) from None
    return data.removeprefix(b"\xef\xbb\xbf")


def _whole_file(path: Path, data: bytes) -> Any:
    try:
        return _loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HammerError(f"not valid JSON: {err}", file=str(path)) from None


_FIRST_CHAR = re.compile(rb"\s*(.)", re.DOTALL)
_ONLY_SPACE = re.compile(rb"\s*\Z")


def _is_json_list(data: bytes | mmap.mmap, pos: int = 0) -> bool:
    """A JSON list of records, as opposed to JSON Lines whose first record is itself a list: the
    first line is a complete JSON value only in the latter (when more lines follow). Looks only
    at the start of ``data`` (no copy of a file that may be hundreds of MB)."""
    first = _FIRST_CHAR.match(data, pos)
    if first is None or first.group(1) != b"[":
        return False
    start = first.start(1)
    newline = data.find(b"\n", start)
    if newline < 0 or _ONLY_SPACE.match(data, newline):
        return True
    try:
        _loads(data[start:newline])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def iter_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, record)`` from a JSON list or a JSON Lines file (blank lines ignored).

    A line that is not JSON is yielded as a located :class:`HammerError` (the rest of the file
    stays readable); a JSON list that does not parse stops the whole file. A file holding one
    pretty-printed JSON object is one record.
    """
    data = _read_bytes(path)
    if _is_json_list(data):
        yield from enumerate(_whole_file(path, data))
        return
    lines = [line for line in data.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        try:
            yield index, _loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if index == 0 and len(lines) > 1 and isinstance(whole := _try_loads(data), dict):
                yield 0, whole
                return
            yield index, HammerError(f"not valid JSON: {err}", file=str(path), record=index)


def _try_loads(data: bytes) -> Any:
    try:
        return _loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


class SplitError(HammerError):
    """Parsing did not confirm a cut of a file into records (:class:`RecordSlices`): the caller
    parses the file whole instead, which gives the right records or the right error."""


class ParsedRecords:
    """Records already parsed, behind the interface of :class:`RecordSlices`."""

    def __init__(self, records: list[tuple[int, Any]]) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def parse(self, lo: int, hi: int) -> list[tuple[int, Any]]:
        return self.records[lo:hi]


class RecordSlices:
    """A file's records found without parsing them, each range parsed where it is used.

    Parsing a 130 MB JSON list takes one core a third of a second, and the parsed records, shared
    with forked workers, are copied page by page as the workers touch them. Cut first, a range of
    records is parsed by the process that converts it: reading is as parallel as the rest. An
    indented JSON list is cut where a line starts with the indentation of its first record and
    ``{`` (a raw newline never occurs inside a JSON string), a list on one line where ``},``
    is followed by ``{"`` (inside a string that quote would be escaped); a range that then does
    not parse as exactly its records (a nested object looked like a record) raises
    :class:`SplitError`. JSON Lines are cut at line ends.
    """

    def __init__(self, path: Path, data: mmap.mmap, starts: list[int], end: int) -> None:
        self.path, self.data, self.starts, self.end = path, data, starts, end

    def __len__(self) -> int:
        return len(self.starts)

    def parse(self, lo: int, hi: int) -> list[tuple[int, Any]]:
        """Records ``lo`` to ``hi - 1`` (or the last), with their indices."""
        hi = min(hi, len(self.starts))
        start, end = self.starts[lo], self.starts[hi] if hi < len(self.starts) else self.end
        data = self.data
        while end > start and data[end - 1] in _SPACE:
            end -= 1
        if hi < len(self.starts):
            if data[end - 1] != _COMMA:
                raise SplitError("records are not separated by commas", file=str(self.path))
            end -= 1
        text = b"".join((b"[", memoryview(data)[start:end], b"]"))  # one copy of the range, no more
        try:
            records = _loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SplitError(f"records {lo}-{hi - 1} do not parse: {err}", file=str(self.path)) from None
        if len(records) != hi - lo:
            raise SplitError(f"records {lo}-{hi - 1} hold {len(records)} values", file=str(self.path))
        return list(enumerate(records, lo))


_SPACE = frozenset(b" \t\r\n\x0b\x0c")
_COMMA = ord(",")


class LineRecords:
    """A JSON Lines file's non-blank lines, each parsed where it is used (see :class:`RecordSlices`)."""

    def __init__(self, path: Path, lines: list[bytes]) -> None:
        self.path, self.lines = path, lines

    def __len__(self) -> int:
        return len(self.lines)

    def parse(self, lo: int, hi: int) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        for index in range(lo, min(hi, len(self.lines))):
            try:
                out.append((index, _loads(self.lines[index])))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                out.append((index, HammerError(f"not valid JSON: {err}", file=str(self.path), record=index)))
        return out


_FIRST_OF_LIST = re.compile(rb"\s*\[(\s*)\{")


def slice_records(path: Path) -> RecordSlices | LineRecords | None:
    """The file's records cut but not parsed, or ``None`` when it cannot be cut that way (a list
    of something else than objects, an empty list, a first line that is not JSON, no such
    file): :func:`iter_records` then. A JSON list is mapped, not read: the parent touches only
    what it scans, each worker copies its own ranges."""
    try:
        with path.open("rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # missing, unreadable, empty: iter_records words the error
        return None
    pos = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    if not _is_json_list(data, pos):
        lines = [line for line in data[pos:].splitlines() if line.strip()]
        data.close()
        if not lines or _try_loads(lines[0]) is None:
            return None
        return LineRecords(path, lines)
    match = _FIRST_OF_LIST.match(data, pos)
    if match is None:
        return None
    if b"\n" in match.group(1):  # indented: a record starts a line at the first one's indentation
        indent = match.group(1).rpartition(b"\n")[2]
        record_start = re.compile(rb"\n" + re.escape(indent) + rb"\{")
    else:  # on one line: a record follows "}," and opens with a key (inside a string a quote is \")
        record_start = re.compile(rb'\},\s*\{(?=")')
    starts = [match.end() - 1] + [m.end() - 1 for m in record_start.finditer(data, match.end())]
    end = len(data) - 1
    while end > 0 and data[end] in _SPACE:
        end -= 1
    if data[end] != ord("]"):
        return None
    return RecordSlices(path, data, starts, end)


def first_record(path: Path) -> Any:
    """The first record of a file without parsing the rest of a JSON list (format detection)."""
    data = _read_bytes(path)
    if _is_json_list(data):
        body = data.decode("utf-8", errors="replace").lstrip()[1:].lstrip()
        if body.startswith("]"):
            raise HammerError("the file holds an empty list: nothing to detect a format from", file=str(path))
        try:
            return json.JSONDecoder().raw_decode(body)[0]
        except json.JSONDecodeError as err:
            raise HammerError(f"not valid JSON: {err}", file=str(path)) from None
    for _, record in iter_records(path):
        if isinstance(record, HammerError):
            raise record
        return record
    raise HammerError("the file holds no records", file=str(path))


def examples_from_records(path: Path, convert: RecordReader) -> Iterator[Example | HammerError]:
    """Run a per-record reader over a file, locating each failure (file, record index)."""
    for index, record in iter_records(path):
        if isinstance(record, HammerError):
            yield record
            continue
        try:
            yield convert(record, index, path)
        except HammerError as err:
            yield err.located(file=str(path), record=index)
        except (TypeError, ValueError, KeyError, AttributeError) as err:  # shapes no check foresaw
            yield HammerError(f"malformed record ({type(err).__name__}: {err})", file=str(path), record=index)


def require_dict(record: Any, what: str = "record") -> dict[str, Any]:
    if not isinstance(record, dict):
        raise HammerError(f"{what} must be a JSON object, got {type(record).__name__}")
    return record


def require_keys(record: Any, *keys: str) -> dict[str, Any]:
    """``record`` as an object holding every one of ``keys`` (else an error naming the first
    one missing as the field)."""
    record = require_dict(record)
    for key in keys:
        if key not in record:
            raise HammerError("missing", field=key)
    return record


def json_field(value: Any, field: str, *, literal: bool = False) -> Any:
    """A field that may hold JSON text (xLAM's ``tools``/``answers``) or the value itself.

    ``literal`` also accepts a Python literal (the paper's files: single quotes, ``True``)."""
    if not isinstance(value, str):
        return value
    try:
        return _loads(value)
    except json.JSONDecodeError as err:
        if literal:
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise HammerError("neither JSON nor a Python literal", field=field) from None
        raise HammerError(f"not valid JSON: {err}", field=field) from None


def require_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise HammerError(f"must be a list, got {type(value).__name__}", field=field)
    return value


def call_from_dict(call: Any, field: str) -> ToolCall:
    """``{"name", "arguments"}`` (xLAM), ``{"tool", "parameters"}`` (Seal-Tools) or OpenAI's
    ``{"function": {"name", "arguments": "<json>"}}``; arguments may be a JSON string."""
    if not isinstance(call, dict):
        raise HammerError(f"a call must be an object, got {type(call).__name__}", field=field)
    if isinstance(call.get("function"), dict):
        call, field = call["function"], f"{field}.function"
    name_key, args_key = (
        ("tool", "parameters") if "name" not in call and "tool" in call else ("name", "arguments")
    )
    name = call.get(name_key)
    if not isinstance(name, str) or not name:
        raise HammerError("call has no function name", field=f"{field}.{name_key}")
    arguments = call.get(args_key, {})
    if arguments is None:
        arguments = {}
    arguments = json_field(arguments, f"{field}.{args_key}", literal=True)
    if not isinstance(arguments, dict):
        raise HammerError(
            f"arguments must be an object, got {type(arguments).__name__}", field=f"{field}.{args_key}"
        )
    return ToolCall(name=name, arguments=arguments)


def calls_from_list(value: Any, field: str, *, literal: bool = False) -> list[ToolCall]:
    calls = require_list(json_field(value, field, literal=literal), field)
    return [call_from_dict(c, f"{field}[{i}]") for i, c in enumerate(calls)]


_ROLES = {"user": "user", "assistant": "assistant", "agent": "assistant", "system": "system", "tool": "tool"}


def message_from_turn(turn: Any, field: str) -> Message:
    """A plain turn ``{"role", "content", ["tool_calls"], ["tool_call_id"], ["name"]}``; the
    paper's files call the assistant ``agent``."""
    if not isinstance(turn, dict):
        raise HammerError(f"a turn must be an object, got {type(turn).__name__}", field=field)
    role = _ROLES.get(turn.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise HammerError(f"unknown role {turn.get('role')!r}", field=f"{field}.role")
    content = _content_text(turn.get("content"), f"{field}.content")
    tool_calls = turn.get("tool_calls")
    return Message(
        role=role,  # type: ignore[arg-type]
        content=content,
        tool_calls=None if tool_calls is None else calls_from_list(tool_calls, f"{field}.tool_calls"),
        tool_call_id=_optional_str(turn, "tool_call_id", field),
        name=_optional_str(turn, "name", field),
    )


def _content_text(content: Any, field: str) -> str:
    """A string, ``null``, or OpenAI's list of ``{"type": "text", "text"}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if (
                not isinstance(part, dict)
                or part.get("type") != "text"
                or not isinstance(part.get("text"), str)
            ):
                raise HammerError("only text content parts are supported", field=f"{field}[{i}]")
            texts.append(part["text"])
        return "".join(texts)
    raise HammerError("content must be a string", field=field)


def _optional_str(turn: dict[str, Any], key: str, field: str) -> str | None:
    value = turn.get(key)
    if value is not None and not isinstance(value, str):
        raise HammerError(f"{key} must be a string", field=f"{field}.{key}")
    return value


def turn_from_message(message: Message) -> dict[str, Any]:
    """The plain-turn form of a message (inverse of :func:`message_from_turn`)."""
    turn: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls is not None:
        turn["tool_calls"] = [c.to_dict() for c in message.tool_calls]
    if message.tool_call_id is not None:
        turn["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        turn["name"] = message.name
    return turn


def query_messages(query: Any, field: str = "query") -> list[Message]:
    """A query that is a string (one user turn) or a list of turns."""
    if isinstance(query, str):
        return [Message(role="user", content=query)]
    turns = require_list(query, field)
    if not turns:
        raise HammerError("the conversation is empty", field=field)
    return [message_from_turn(t, f"{field}[{i}]") for i, t in enumerate(turns)]


def write_records(records: Iterable[dict[str, Any]], path: Path, *, jsonl: bool) -> int:
    """Write records as JSON Lines or as a JSON list with one record per line (UTF-8, not
    escaped); returns the count. Written through :func:`~hammer_fc.outputs.atomic_output`, so an
    error half-way (an example a format cannot hold) leaves no truncated output behind."""
    count = 0
    with atomic_output(path) as out:
        out.write(b"" if jsonl else b"[")
        for record in records:
            if not jsonl:
                out.write(b"\n" if count == 0 else b",\n")
            out.write(_dumps(record))
            out.write(b"\n" if jsonl else b"")
            count += 1
        out.write(b"" if jsonl else b"\n]\n" if count else b"]\n")
    return count


def _dumps(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record)
    except TypeError:  # ints beyond 64 bits, non-string keys: the standard library copes
        return json.dumps(record, ensure_ascii=False).encode()
