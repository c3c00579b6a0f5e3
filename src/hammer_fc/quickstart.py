"""The main job on the embedded defaults: every stage once, end to end, offline, in minutes.

A recipe in torchtune's sense: it only strings together the library's stages, each called
through the same function its CLI command calls.

1. data    -- a masked training set from BFCL's live categories; one example before/after masking
2. eval    -- the base model on a small seeded subset of BFCL's non-live categories
3. train   -- a short LoRA run on the live data (the CPU recipe, a few steps)
4. compare -- base vs that quick run vs the shipped ``hammer-smol`` adapter, same subset
5. export  -- the tuned model merged and quantized to Q4_K_M GGUF; the on-device table
6. serve   -- the OpenAI-compatible server; one tool-calling request with the ``openai`` client

Data split: BFCL **live** (user-contributed functions) trains, BFCL **non-live** evaluates.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from hammer_fc.models import ADAPTERS_DIR


@dataclass
class QuickstartOptions:
    out_dir: Path = Path("runs/quickstart")
    eval_limit: int = 3
    """Cases per non-live BFCL category (seeded subset)."""
    max_new_tokens: int = 160
    """Answer cap: enough for these cases' calls; the base model otherwise rambles to the cap."""
    train_steps: int = 6
    seed: int = 0
    threads: int | None = None


def run_quickstart(options: QuickstartOptions, console: Console | None = None) -> dict[str, Any]:
    """Run every stage; returns the figures it printed (also written under ``out_dir``)."""
    console = console or Console()
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}

    console.print(Rule("1. data: function masking + irrelevance on BFCL live"))
    figures["data"] = _data(out, options.seed, console)

    console.print(Rule("2. eval: base model on BFCL non-live (seeded subset)"))
    rows = {"base": _evaluate("smollm2-135m", out / "eval-base", options, console)}

    console.print(Rule("3. train: a short LoRA run on BFCL live"))
    quick = _train(out / "train-quick", options, console)

    console.print(Rule("4. compare: base vs tuned on the same subset"))
    quick_gguf = _export(str(quick), out / "quick-Q4_K_M.gguf", console)
    rows[f"quick ({options.train_steps} steps)"] = _evaluate(
        str(quick_gguf), out / "eval-quick", options, console
    )
    final_gguf = quick_gguf
    if (ADAPTERS_DIR / "hammer-smol" / "adapter_config.json").is_file():
        final_gguf = _export("hammer-smol", out / "hammer-smol-Q4_K_M.gguf", console)
        rows["hammer-smol"] = _evaluate(str(final_gguf), out / "eval-hammer-smol", options, console)
    console.print(_comparison_table(rows))
    figures["eval"] = rows

    console.print(Rule(f"5. on-device: {final_gguf.name}"))
    figures["bench"] = _bench(final_gguf, options, console)

    console.print(Rule("6. serve: OpenAI-compatible /v1/chat/completions"))
    figures["serve"] = _serve(final_gguf, console)
    return figures


def _data(out: Path, seed: int, console: Console) -> dict[str, Any]:
    from hammer_fc.augment.masking import mask_example
    from hammer_fc.formats.bfcl import load_bfcl
    from hammer_fc.prepare import prepare, summary_rows
    from hammer_fc.prompts.training import render_completion, tools_json

    result = prepare(
        [Path("bfcl:live")],
        out / "train.jsonl",
        epochs=3,
        mask_ratio=0.33,
        add_irrelevance=0.0,  # live_irrelevance already supplies natural no-call examples
        seed=seed,
        skip_invalid=True,  # live_relevance has no gold answer, 2 live_multiple answers undeclared arguments
    )
    table = Table(title=f"hammer data prepare -> {result.out}", show_header=False)
    for name, value in summary_rows(result):
        table.add_row(name, value)
    console.print(table)

    example = next(e for e in load_bfcl("live_simple") if len(e.tools) == 1 and e.calls)
    masked = mask_example(example, random.Random(seed)).example
    for label, shown in (("before masking", example), ("after masking", masked)):
        body = f"{tools_json(shown.tools)}\n\nanswer: {render_completion(shown.calls or [])}"
        console.print(Panel(body, title=f"{example.id}: {label}", expand=False))
    return {"lines": result.written.lines, "masked": result.written.masked}


def _evaluate(model: str, out: Path, options: QuickstartOptions, console: Console) -> dict[str, Any]:
    from hammer_fc.eval.runner import run_eval

    # An eval directory resumes the run it holds; the quickstart's models and settings change
    # between runs (a fresh quick adapter every time), so every run starts its evals afresh.
    shutil.rmtree(out, ignore_errors=True)
    summary = run_eval(
        model,
        "bfcl:non_live",
        out_dir=out,
        limit=options.eval_limit,
        seed=options.seed,
        max_new_tokens=options.max_new_tokens,
        console=console,
        backend_options={"n_threads": options.threads} if options.threads else None,
    )
    return {
        "per_category": {name: r["accuracy"] for name, r in summary["benches"].items()},
        "bfcl": summary.get("bfcl", {}),
    }


def _train(out: Path, options: QuickstartOptions, console: Console) -> Path:
    from hammer_fc.train.config import load_recipe
    from hammer_fc.train.trainer import TrainJob, run_training

    recipe = load_recipe("smollm2-cpu", max_steps=options.train_steps)
    shutil.rmtree(out, ignore_errors=True)  # a demo run trains afresh, never resumes an old one
    result = run_training(TrainJob("smollm2-135m", ["bfcl:live"], out, recipe, resume=False))
    console.print(f"adapter written to {result.out_dir}  ({result.summary})")
    return result.out_dir


def _export(model: str, out: Path, console: Console) -> Path:
    from hammer_fc.export import export_gguf
    from hammer_fc.models import resolve

    path = export_gguf(resolve(model), out, "Q4_K_M", console=console)
    console.print(f"exported {model} -> {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return path


def _comparison_table(rows: dict[str, dict[str, Any]]) -> Table:
    """One column per model, one row per category: stays readable in an 80-column terminal."""
    table = Table(title="BFCL non-live subset, accuracy % (trained on BFCL live only)")
    table.add_column("category")
    for label in rows:
        table.add_column(label, justify="right")
    categories = list(next(iter(rows.values()))["per_category"])
    for category in categories:
        table.add_row(
            category.removeprefix("bfcl:"), *(_pct(r["per_category"].get(category)) for r in rows.values())
        )
    table.add_row("non-live AST", *(_pct(r["bfcl"].get("non_live_ast")) for r in rows.values()), style="bold")
    return table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _bench(path: Path, options: QuickstartOptions, console: Console) -> dict[str, Any]:
    from hammer_fc.bench import run_bench
    from hammer_fc.bench.measure import BenchSettings
    from hammer_fc.bench.report import bench_table

    result = run_bench([path], BenchSettings(threads=options.threads, repeats=1), console=console)
    console.print(bench_table(result))
    return result


def _serve(path: Path, console: Console) -> dict[str, Any]:
    import openai

    from hammer_fc.inference.base import load_backend
    from hammer_fc.models import resolve
    from hammer_fc.serve.app import create_app
    from hammer_fc.serve.server import BackgroundServer

    backend = load_backend(resolve(str(path), prefer="gguf"), "llamacpp")
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "City name, e.g. Paris."},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                    "required": ["city"],
                },
            },
        }
    ]
    with BackgroundServer(create_app(backend, model_name=path.stem)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="not-needed")
        response = client.chat.completions.create(
            model=path.stem,
            messages=[{"role": "user", "content": "What's the weather in Paris right now, in celsius?"}],
            tools=tools,  # type: ignore[arg-type]
            max_tokens=96,
        )
    backend.close()
    choice = response.choices[0]
    calls = [
        {"name": c.function.name, "arguments": c.function.arguments} for c in choice.message.tool_calls or []
    ]
    console.print(
        Panel(
            f"POST {server.base_url}/chat/completions\nfinish_reason: {choice.finish_reason}\n"
            f"tool_calls: {calls}\ncontent: {choice.message.content!r}",
            title="openai client -> hammer serve",
            expand=False,
        )
    )
    return {"finish_reason": choice.finish_reason, "tool_calls": calls}
