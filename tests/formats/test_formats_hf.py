"""Hugging Face data sets as sources, offline: data sets this test builds and saves, read back
through ``datasets`` (hf: specs, Parquet, Arrow, save_to_disk folders) into the same examples
as the JSON files they were made from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from hammer_fc.errors import HammerError
from hammer_fc.formats import detect_format, read_examples
from hammer_fc.prepare.run import prepare

DATA = Path(__file__).resolve().parents[1] / "data"
SRC = Path(__file__).resolve().parents[2] / "src"
XLAM = DATA / "xlam_sample.json"
OPENAI = DATA / "openai_chat.jsonl"

TRL = [
    {
        "messages": [
            {"role": "user", "content": "Weather in Lyon?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"type": "function", "function": {"name": "weather", "arguments": {"city": "Lyon"}}}
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "description": "City."}},
                        "required": ["city"],
                    },
                },
            }
        ],
    },
    {
        "messages": [
            {"role": "user", "content": "Time in Oslo, 24h?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "time", "arguments": {"zone": "Oslo", "h24": True}},
                    }
                ],
            },
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "time",
                    "description": "Time.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "zone": {"type": "string", "description": "Zone."},
                            "h24": {"type": "boolean", "description": "24h."},
                        },
                        "required": ["zone"],
                    },
                },
            }
        ],
    },
]


@pytest.fixture(scope="module")
def xlam_rows() -> list[dict]:
    return json.loads(XLAM.read_text())


def test_xlam_columns_from_disk_parquet_and_arrow(tmp_path: Path, xlam_rows: list[dict]) -> None:
    expected = read_examples(XLAM).examples
    dataset = datasets.Dataset.from_list(xlam_rows)
    dataset.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": dataset, "test": dataset.select([0])}).save_to_disk(str(tmp_path / "dict"))
    dataset.to_parquet(str(tmp_path / "x.parquet"))
    (arrow,) = (tmp_path / "saved").glob("*.arrow")
    for source in (tmp_path / "saved", tmp_path / "dict", tmp_path / "x.parquet", arrow):
        assert detect_format(source) == "xlam"
        result = read_examples(source)
        assert result.format == "xlam"
        assert result.examples == expected, source


def test_openai_rows_as_json_text_and_trl_structs(tmp_path: Path) -> None:
    records = [json.loads(line) for line in OPENAI.read_text().splitlines() if line.strip()]
    as_text = [
        {"id": r.get("id"), "messages": json.dumps(r["messages"]), "tools": json.dumps(r.get("tools", []))}
        for r in records
    ]
    datasets.Dataset.from_list(as_text).to_parquet(str(tmp_path / "chat.parquet"))
    assert read_examples(tmp_path / "chat.parquet").examples == read_examples(OPENAI).examples
    # TRL's own layout: structs, which Arrow fills with every key any row has (None elsewhere).
    datasets.Dataset.from_list(TRL).save_to_disk(str(tmp_path / "trl"))
    (tmp_path / "trl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in TRL))
    ours = read_examples(tmp_path / "trl")
    assert ours.format == "openai"
    assert ours.examples == read_examples(tmp_path / "trl.jsonl").examples
    assert ours.examples[0].calls[0].arguments == {"city": "Lyon"}  # no "zone": None, "h24": None


def test_hf_spec_through_load_dataset_offline_in_the_cli(tmp_path: Path, xlam_rows: list[dict]) -> None:
    """`hammer data prepare hf:<data set>:train` as a user runs it, with no network: the same
    bytes as preparing the JSON file it was made from."""
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    datasets.Dataset.from_list(xlam_rows).to_parquet(str(repo / "data" / "train-00000-of-00001.parquet"))
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
    }
    cli = [sys.executable, "-c", "from hammer_fc.cli import main; main()", "data", "prepare"]
    out = tmp_path / "hf.jsonl"
    run = subprocess.run(
        [*cli, f"hf:{repo}:train", "--epochs", "2", "--seed", "3", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    prepare([XLAM], tmp_path / "file.jsonl", epochs=2, seed=3)
    assert out.read_bytes() == (tmp_path / "file.jsonl").read_bytes()
    missing = subprocess.run(
        [*cli, "hf:no-such-org/no-such-set", "-o", str(tmp_path / "x.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert missing.returncode == 2
    assert "hf:no-such-org/no-such-set" in missing.stderr and "Traceback" not in missing.stderr


def test_dataset_errors_are_clear(tmp_path: Path, xlam_rows: list[dict]) -> None:
    dataset = datasets.Dataset.from_list(xlam_rows)
    datasets.DatasetDict({"a": dataset, "b": dataset}).save_to_disk(str(tmp_path / "two"))
    with pytest.raises(HammerError, match="splits a, b"):
        read_examples(tmp_path / "two")
    with pytest.raises(HammerError, match="no such file"):
        read_examples(tmp_path / "none.parquet")
    bad = [{**xlam_rows[0], "tools": "[{not json"}, xlam_rows[1]]
    datasets.Dataset.from_list(bad).to_parquet(str(tmp_path / "bad.parquet"))
    with pytest.raises(HammerError, match=r"bad\.parquet.*record 0.*tools"):
        read_examples(tmp_path / "bad.parquet", "xlam")
    skipped = read_examples(tmp_path / "bad.parquet", "xlam", skip_invalid=True)
    assert (len(skipped.examples), skipped.skipped) == (1, 1)


def test_a_benchmark_can_be_a_data_set(tmp_path: Path) -> None:
    """`--bench` takes a saved data set too (F1 bench of its rows)."""
    from hammer_fc.eval.benches import load_bench

    rows = json.loads((DATA / "paper" / "tool_alpaca.json").read_text())
    as_text = [
        {**r, "tools": r["tools"] if isinstance(r["tools"], str) else json.dumps(r["tools"])} for r in rows
    ]
    datasets.Dataset.from_list(as_text).save_to_disk(str(tmp_path / "bench"))
    bench = load_bench(str(tmp_path / "bench"))
    assert bench.kind == "f1"
    assert [e.calls for e in bench.examples] == [
        e.calls for e in read_examples(DATA / "paper" / "tool_alpaca.json").examples
    ]
