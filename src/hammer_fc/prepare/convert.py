"""``hammer data convert``: one format to another, a training set (alpaca) included.

It lives with the training-record formats, not in :mod:`hammer_fc.formats`, because writing
alpaca renders prompts (:mod:`hammer_fc.prompts`), which sit above the format readers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hammer_fc.errors import HammerError
from hammer_fc.formats import READ_FORMATS, WRITE_FORMATS, ReadResult, read_examples, write_examples
from hammer_fc.formats.checks import jsonschema_losses
from hammer_fc.outputs import check_output
from hammer_fc.prepare.records import write_alpaca
from hammer_fc.prompts import DEFAULT_TEMPLATE, get_template

CONVERT_FORMATS = (*WRITE_FORMATS, "alpaca")


@dataclass
class Converted:
    """What ``hammer data convert`` did: what it read, how many examples it wrote, and what the
    output format could not hold."""

    read: ReadResult
    written: int
    lost: Counter[str] = field(default_factory=Counter)
    """Parameter types written with less than they said -> how many parameters, keyed
    ``'<type>': JSON Schema cannot say <the parts>`` (no ``Callable``, no non-string keys ...)."""


def convert_file(
    src: str | Path,
    dst: str | Path,
    *,
    to_fmt: str,
    from_fmt: str | None = None,
    skip_invalid: bool = False,
    template: str | None = None,
) -> Converted:
    """``hammer data convert``: read ``src`` (format detected unless given), write ``dst``.

    The output format, template and path are checked before anything is read, so a typo costs
    nothing. Records that fail a check (:mod:`hammer_fc.formats.checks`; for alpaca, a training
    format, a gold answer is needed) are errors or, with ``skip_invalid``, skipped and counted.
    Writing OpenAI's JSON Schema, a Python type it cannot hold whole is counted in ``lost``."""
    if to_fmt not in CONVERT_FORMATS:
        raise HammerError(
            f"cannot write format {to_fmt!r} (writable: {', '.join(CONVERT_FORMATS)})", field="--to"
        )
    if template is not None:
        get_template(template)
        if to_fmt != "alpaca":
            raise HammerError(f"--template applies to alpaca output only, not {to_fmt}", field="--template")
    if from_fmt is not None and from_fmt not in READ_FORMATS:
        raise HammerError(
            f"cannot read format {from_fmt!r} (readable: {', '.join(READ_FORMATS)})", field="--from"
        )
    check_output(dst)
    result = read_examples(src, from_fmt, skip_invalid=skip_invalid, require_answers=to_fmt == "alpaca")
    if to_fmt == "alpaca":
        written = write_alpaca(result.examples, Path(dst), template or DEFAULT_TEMPLATE)
    else:
        written = write_examples(result.examples, dst, to_fmt)
    converted = Converted(result, written)
    if to_fmt == "openai":
        for example in result.examples:
            for tool in example.tools:
                for _, text, lost in jsonschema_losses(tool):
                    converted.lost[f"{text!r}: JSON Schema cannot say {', '.join(lost)}"] += 1
    return converted
