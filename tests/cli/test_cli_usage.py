"""Usage errors as a user meets them: the usage line, the message, exit code 2, no traceback.

Run in a subprocess through the real entry point (the ``hammer`` console script where it is
installed, ``python -m hammer_fc.cli`` otherwise), so that whatever click the installed typer
bundles is the one raising."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.hammer_cli import hammer


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (
            ("data", "convert", "x.json", "--bogus"),
            "Usage: hammer data convert",
            ("No such option", "--bogus"),
        ),
        (("eval", "run"), "Usage: hammer eval run", ("Missing option", "--bench")),
        (("nosuch",), "Usage: hammer ", ("No such command", "nosuch")),
        (
            ("data", "prepare", "x.json", "-o", "y.jsonl", "--epochs", "abc"),
            "Usage: hammer data prepare",
            ("Invalid value for", "--epochs"),
        ),
    ],
    ids=["unknown-option", "missing-option", "unknown-command", "bad-value"],
)
def test_usage_errors_print_usage_and_exit_2(
    args: tuple[str, ...], usage: str, message: tuple[str, ...]
) -> None:
    """Click's wording varies by version (``No such option: --x``, ``No such option '--x'``)."""
    run = hammer(*args)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(usage), run.stderr
    assert all(part in run.stderr for part in message), run.stderr


def test_input_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    run = hammer("data", "convert", str(tmp_path / "missing.json"), "--to", "xlam", "-o", str(tmp_path / "o"))
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {tmp_path / 'missing.json'}: no such file"


def test_help_exits_0() -> None:
    run = hammer("data", "convert", "--help")
    assert run.returncode == 0 and "--skip-invalid" in run.stdout
