"""Where the project's shared samples are: ``shared/`` beside the checkout (as laid out for
developers and CI)."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
AUTHORS_DATA = SHARED / "data" / "hammer-authors"
TOOLALPACA = AUTHORS_DATA / "test" / "original" / "toolalpaca.json"
