"""Tables pasted into a markdown file (README, adapter card) between two markers, so that a
rerun replaces its own block and leaves the rest of the file as it is."""

from __future__ import annotations

from pathlib import Path

from hammer_fc.errors import HammerError
from hammer_fc.outputs import atomic_output

BEGIN = "<!-- hammer-fc evidence: begin -->"
END = "<!-- hammer-fc evidence: end -->"


def paste_into(path: Path, text: str) -> None:
    """Replace what lies between the evidence markers in ``path`` by ``text`` (markers kept);
    a file without them gets them, around ``text``, at its end."""
    if not path.is_file():
        raise HammerError("no such file to paste the evidence into", file=str(path), field="into")
    current = path.read_text()
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    begin, end = current.find(BEGIN), current.find(END)
    if begin == -1 and end == -1:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    elif begin == -1 or end < begin:
        raise HammerError(f"the markers {BEGIN} ... {END} are not in order", file=str(path), field="into")
    else:
        updated = current[:begin] + block + current[end + len(END) :]
    with atomic_output(path) as sink:
        sink.write(updated.encode())
