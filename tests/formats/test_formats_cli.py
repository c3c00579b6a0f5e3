"""``hammer data convert`` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
HAMMER = str(Path(sys.executable).with_name("hammer"))


def _hammer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HAMMER, "data", "convert", *args], capture_output=True, text=True, timeout=120)


def test_convert_detects_the_input_and_reports_counts(tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    run = _hammer(str(DATA / "xlam_sample.json"), "--to", "openai", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "read 4 examples (xlam)" in run.stderr and "wrote 4 (openai)" in run.stderr
    assert len(out.read_text().splitlines()) == 4


def test_convert_bfcl_spec_to_xlam(tmp_path: Path) -> None:
    out = tmp_path / "java.json"
    run = _hammer("bfcl:simple_java", "--from", "bfcl", "--to", "xlam", "-o", str(out))
    assert run.returncode == 0, run.stderr
    records = json.loads(out.read_text())
    assert len(records) == 100 and records[0]["id"] == "simple_java_0"


def test_bad_record_is_one_clean_line_and_exit_code_2(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    run = _hammer(str(DATA / "bad" / "xlam_bad.jsonl"), "--to", "openai", "-o", str(out))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "xlam_bad.jsonl: record 1: not valid JSON" in run.stderr
    assert not out.exists()


def test_skip_invalid_reports_what_it_skipped(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    run = _hammer(str(DATA / "bad" / "xlam_bad.jsonl"), "--to", "openai", "-o", str(out), "--skip-invalid")
    assert run.returncode == 0, run.stderr
    assert "skipped 4 invalid" in run.stderr
    assert "record 4: field 'tools[0].parameters.city.type'" in run.stderr
    assert len(out.read_text().splitlines()) == 2


def test_bad_options_exit_2_without_traceback(tmp_path: Path) -> None:
    run = _hammer(str(DATA / "xlam_sample.json"), "--to", "bfcl", "-o", str(tmp_path / "x"))
    assert (
        run.returncode == 2 and "cannot write format 'bfcl'" in run.stderr and "Traceback" not in run.stderr
    )
    run = _hammer(str(tmp_path / "missing.json"), "--to", "xlam", "-o", str(tmp_path / "x"))
    assert run.returncode == 2 and "no such file" in run.stderr and "Traceback" not in run.stderr
