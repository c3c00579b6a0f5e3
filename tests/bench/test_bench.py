"""``hammer bench`` on tiny exported models: every figure present, plausible and consistent.

The models are random two-layer llamas with the embedded model's real tokenizer, written as
GGUF by our exporter (F16 and Q8_0), so the 1/5/20-tool prompts have their real lengths while a
whole run takes seconds. Speeds are never compared with thresholds (benchmarks/ does that).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

from hammer_fc.bench import BenchSettings, file_info, run_bench
from hammer_fc.bench.prompts import TOOL_COUNTS
from hammer_fc.bench.report import bench_table
from hammer_fc.cli import app
from hammer_fc.errors import HammerError
from hammer_fc.export.convert import write_gguf
from hammer_fc.export.quantize import quantize
from hammer_fc.model_spec import load_tokenizer, resolve
from helpers.tiny_models import tiny_config

FAST = BenchSettings(threads=1, n_ctx=4096, repeats=1, decode_tokens=8, call_tokens=24)


@pytest.fixture(scope="session")
def tiny_ggufs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(
        tiny_config(max_position_embeddings=4096, tie_word_embeddings=True)
    )
    folder = tmp_path_factory.mktemp("bench")
    f16 = write_gguf(model, load_tokenizer(resolve("smollm2-135m")), folder / "tiny-f16.gguf", name="tiny")
    q8 = folder / "tiny-q8_0.gguf"
    quantize(f16, q8, "Q8_0")
    return [f16, q8]


@pytest.fixture(scope="session")
def result(tiny_ggufs: list[Path]) -> dict:
    return run_bench(tiny_ggufs, FAST)


def test_every_figure_is_measured(result: dict, tiny_ggufs: list[Path]) -> None:
    json.dumps(result)  # the metrics file is plain JSON
    assert [m["quant"] for m in result["models"]] == ["F16", "Q8_0"]
    for model, path in zip(result["models"], tiny_ggufs, strict=True):
        assert model["file_size_mib"] == pytest.approx(path.stat().st_size / 2**20)
        assert model["load_s"] > 0 and model["peak_rss_mib"] > model["model_rss_mib"] > 0
        rows = model["prompts"]
        assert [row["tools"] for row in rows] == list(TOOL_COUNTS)
        lengths = [row["prompt_tokens"] for row in rows]
        assert lengths == sorted(lengths) and lengths[-1] < FAST.n_ctx
        for row in rows:
            assert row["prefill_tok_s"] > 0 and row["decode_tok_s"] > 0
            assert 1 < row["decode_tokens"] <= FAST.decode_tokens
        call = model["tool_call"]
        assert call["ttft_s"] > 0 and 0 < call["output_tokens"] <= FAST.call_tokens
        assert call["first_delta_s"] > 0
        assert call["output"].startswith("```")  # constrained: the Hammer answer format from token one
        assert call["prompt_tokens"] == rows[TOOL_COUNTS.index(call["tools"])]["prompt_tokens"]
    f16, q8 = result["models"]
    assert q8["file_size_mib"] < f16["file_size_mib"]
    assert f16["prompts"][0]["prompt_tokens"] == q8["prompts"][0]["prompt_tokens"]  # same prompts


def test_table_lists_every_file(result: dict) -> None:
    console = Console(width=250, record=True)
    console.print(bench_table(result))
    text = console.export_text()
    assert "F16" in text and "Q8_0" in text
    assert "prefill tok/s (20 tools" in text and "decode tok/s (5 tools)" in text
    assert "first delta" in text


def test_cli_writes_metrics_and_plot(tmp_path: Path, tiny_ggufs: list[Path]) -> None:
    out, plot = tmp_path / "metrics.json", tmp_path / "bench.png"
    args = ["bench", "-m", str(tiny_ggufs[1]), "-o", str(out), "--plot", str(plot), "--repeats", "1"]
    result = CliRunner().invoke(app, [*args, "--threads", "1"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["models"][0]["quant"] == "Q8_0" and metrics["settings"]["repeats"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(HammerError, match="no such GGUF file"):
        file_info(tmp_path / "missing.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a model")
    with pytest.raises(HammerError, match=r"junk\.gguf: not a GGUF file"):
        file_info(junk)
