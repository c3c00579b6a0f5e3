"""Where the project's shared samples are: ``shared/`` beside the checkout (as laid out for
developers and CI), or where ``HAMMER_SHARED`` says (a git worktree stands elsewhere)."""

import os
from pathlib import Path

SHARED = Path(os.environ.get("HAMMER_SHARED") or Path(__file__).resolve().parents[2].parent / "shared")
AUTHORS_DATA = SHARED / "data" / "hammer-authors"
TOOLALPACA = AUTHORS_DATA / "test" / "original" / "toolalpaca.json"
