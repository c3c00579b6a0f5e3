"""The on-device table (rich) and a plot comparing quantizations (matplotlib) from ``run_bench``'s dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _tools(count: int) -> str:
    return f"{count} tool" if count == 1 else f"{count} tools"


def _label(model: dict[str, Any], models: list[dict[str, Any]]) -> str:
    """The quantization, or the file name where two files share one."""
    same = sum(m["quant"] == model["quant"] for m in models) > 1
    return Path(model["path"]).name if same else model["quant"]


def bench_table(result: dict[str, Any]) -> Table:
    """One column per file (quantizations side by side), one row per figure."""
    models = result["models"]
    machine, settings = result["machine"], result["settings"]
    table = Table(
        title="On-device measurements",
        caption=(
            f"{machine['cpu']}, {machine['cores']} cores, threads={machine['threads'] or 'default'}, "
            f"n_ctx={settings['n_ctx']}, median of {settings['repeats']}. Prompts: the Hammer prompt with "
            "N BFCL tools; tool call: 5 tools, grammar-constrained, cold cache. llama.cpp CPU paths: "
            f"{machine.get('cpu_paths', 'not recorded')}."
        ),
    )
    table.add_column("")
    for model in models:
        table.add_column(_label(model, models), justify="right")

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    row("file size (MiB)", [_fmt(m["file_size_mib"]) for m in models])
    row("peak RSS (MiB)", [_fmt(m["peak_rss_mib"]) for m in models])
    row("  of which model (MiB)", [_fmt(m["model_rss_mib"]) for m in models])
    row("load (s)", [_fmt(m["load_s"], 2) for m in models])
    for i, first in enumerate(models[0]["prompts"] if models else []):
        label = f"{_tools(first['tools'])}, {first['prompt_tokens']} tok"
        row(f"prefill tok/s ({label})", [_fmt(m["prompts"][i]["prefill_tok_s"]) for m in models])
    for i, first in enumerate(models[0]["prompts"] if models else []):
        row(
            f"decode tok/s ({_tools(first['tools'])})",
            [_fmt(m["prompts"][i]["decode_tok_s"]) for m in models],
        )
    row("tool call: first token (s)", [_fmt(m["tool_call"]["ttft_s"], 2) for m in models])
    row("tool call: first delta, id + name (s)", [_fmt(m["tool_call"]["first_delta_s"], 2) for m in models])
    row("tool call: whole answer (s)", [_fmt(m["tool_call"]["latency_s"], 2) for m in models])
    row("tool call: answer tokens", [str(m["tool_call"]["output_tokens"]) for m in models])
    row("tool call: right function", ["yes" if m["tool_call"]["right_function"] else "no" for m in models])
    return table


def bench_plot(result: dict[str, Any], out: Path) -> Path:
    """Four panels comparing the files: size/memory, prefill, decode, tool-call latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = result["models"]
    labels = [_label(m, models) for m in models]
    x = np.arange(len(models))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))

    def bars(ax: Any, series: dict[str, list[float]], title: str, unit: str) -> None:
        width = 0.8 / max(len(series), 1)
        for i, (name, values) in enumerate(series.items()):
            ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(x, labels)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.legend(fontsize="small")

    bars(
        axes[0, 0],
        {"file size": [m["file_size_mib"] for m in models], "peak RSS": [m["peak_rss_mib"] for m in models]},
        "Size and memory",
        "MiB",
    )
    counts = [row["tools"] for row in models[0]["prompts"]]
    for ax, key, title in ((axes[0, 1], "prefill_tok_s", "Prefill"), (axes[1, 0], "decode_tok_s", "Decode")):
        series = {
            _tools(count): [m["prompts"][i][key] or 0.0 for m in models] for i, count in enumerate(counts)
        }
        bars(ax, series, title, "tokens/s")
    bars(
        axes[1, 1],
        {
            "time to first token": [m["tool_call"]["ttft_s"] for m in models],
            "time to first delta": [m["tool_call"]["first_delta_s"] for m in models],
            "whole tool call": [m["tool_call"]["latency_s"] for m in models],
        },
        "One tool call (5 tools, constrained)",
        "seconds",
    )
    fig.suptitle(f"{result['machine']['cpu']} ({result['machine']['cores']} cores)", fontsize="medium")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
