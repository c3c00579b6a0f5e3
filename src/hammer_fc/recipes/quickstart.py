"""The main job on the embedded defaults: every stage once, end to end, offline, in minutes.

A recipe in torchtune's sense: it only strings together the library's stages, each called
through the same function its CLI command calls.

1. data    -- a masked training set from BFCL's live categories; one example before/after masking
2. eval    -- the base model on a seeded subset of BFCL's non-live categories
3. train   -- a short LoRA run on the live data (the CPU recipe, a few steps)
4. compare -- base vs that quick run vs the shipped ``hammer-smol`` adapter, same subset
5. export  -- the tuned model merged and quantized to Q4_K_M GGUF; the on-device table
6. serve   -- the OpenAI-compatible server; one tool-calling request with the ``openai`` client

Data split: BFCL **live** (user-contributed functions) trains, BFCL **non-live** evaluates.

Evaluation decodes under the grammar ``hammer serve`` uses by default (a call to an offered
function with arguments of the declared types, or ``[]``): a 135M model left free mostly fails
to write the answer format at all, which makes every table 0.0 and says nothing about which
function and values it picks. The run ends with a summary of what ran, how long each stage took
and where its files are (also ``summary.json`` in the output directory).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from hammer_fc.errors import HammerError
from hammer_fc.model_spec import ADAPTERS_DIR

T = TypeVar("T")

EVAL_BENCH = "bfcl:non_live"

QUIET_ENVIRONMENT = {
    # The quickstart loads the embedded models only: no hub lookups (peft asks the hub for the
    # base model's config when it saves an adapter, and warns when offline).
    "HF_HUB_OFFLINE": "1",
    # tqdm bars of transformers' GGUF de-quantisation and weight loading (read when tqdm is
    # imported: set before any stage imports transformers).
    "TQDM_DISABLE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


@dataclass
class QuickstartOptions:
    out_dir: Path = Path("runs/quickstart")
    eval_limit: int = 4
    """Cases per non-live BFCL category (seeded subset, the same for every model)."""
    max_new_tokens: int = 128
    """Answer cap: under the grammar an answer ends with its closing fence, well within it."""
    constrained: bool = True
    """Decode the evaluation under the tool grammar (as ``hammer serve`` does by default)."""
    train_steps: int = 6
    seed: int = 0
    threads: int | None = None


@dataclass
class Stage:
    """One line of the closing summary."""

    name: str
    seconds: float
    result: str
    files: list[Path] = field(default_factory=list)


@contextmanager
def quiet_dependencies() -> Iterator[None]:
    """Keep the dependencies' noise (hub lookups, deprecation warnings, progress bars) out of
    the quickstart's output; the environment and warning filters are restored afterwards.
    A variable the user set is left as it is."""
    added = [key for key in QUIET_ENVIRONMENT if key not in os.environ]
    for key in added:
        os.environ[key] = QUIET_ENVIRONMENT[key]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers(\.|$)")
            # peft looks for the base model's config on the hub (the embedded model has none there)
            for message in ("Unable to fetch remote file", "Could not find a config file"):
                warnings.filterwarnings("ignore", message=message, module=r"peft(\.|$)")
            yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def run_quickstart(options: QuickstartOptions, console: Console | None = None) -> dict[str, Any]:
    """Run every stage; returns the figures it printed (also ``summary.json`` under ``out_dir``)."""
    for name in ("eval_limit", "train_steps", "max_new_tokens"):
        if getattr(options, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise HammerError(f"{flag} must be at least 1, got {getattr(options, name)}", field=name)
    console = console or Console()
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    stages: list[Stage] = []
    figures: dict[str, Any] = {"options": {k: str(v) for k, v in vars(options).items()}}

    def timed(fn: Callable[[], T]) -> tuple[T, float]:
        start = time.perf_counter()
        value = fn()
        return value, time.perf_counter() - start

    with quiet_dependencies():
        console.print(Rule("1. data: function masking + irrelevance on BFCL live"))
        figures["data"], seconds = timed(lambda: _data(out, options.seed, console))
        data = figures["data"]
        stages.append(
            Stage(
                "data", seconds, f"{data['lines']:,} lines, {data['masked']:,} masked", [out / "train.jsonl"]
            )
        )

        how = "constrained" if options.constrained else "free"
        console.print(Rule(f"2. eval: base model on {EVAL_BENCH} ({options.eval_limit} per category, {how})"))
        rows = {}
        rows["base"], seconds = timed(lambda: _evaluate("smollm2-135m", out / "eval-base", options, console))
        stages.append(Stage("eval base", seconds, _cases(rows["base"]), [out / "eval-base"]))

        console.print(Rule("3. train: a short LoRA run on BFCL live"))
        (quick, trained), seconds = timed(lambda: _train(out / "train-quick", options, console))
        loss = trained.get("final_loss")
        stages.append(Stage("train", seconds, f"{trained.get('steps')} steps, final loss {loss}", [quick]))

        console.print(Rule("4. compare: base vs tuned on the same subset"))
        quick_label = f"quick ({options.train_steps} steps)"
        quick_gguf, seconds = timed(lambda: _export(str(quick), out / "quick-Q4_K_M.gguf", console))
        stages.append(Stage("export quick", seconds, "merged, Q4_K_M", [quick_gguf]))
        rows[quick_label], seconds = timed(
            lambda: _evaluate(str(quick_gguf), out / "eval-quick", options, console)
        )
        stages.append(Stage("eval quick", seconds, _cases(rows[quick_label]), [out / "eval-quick"]))
        final_gguf = quick_gguf
        if (ADAPTERS_DIR / "hammer-smol" / "adapter_config.json").is_file():
            final_gguf, seconds = timed(
                lambda: _export("hammer-smol", out / "hammer-smol-Q4_K_M.gguf", console)
            )
            stages.append(Stage("export hammer-smol", seconds, "merged, Q4_K_M", [final_gguf]))
            rows["hammer-smol"], seconds = timed(
                lambda: _evaluate(str(final_gguf), out / "eval-hammer-smol", options, console)
            )
            stages.append(
                Stage("eval hammer-smol", seconds, _cases(rows["hammer-smol"]), [out / "eval-hammer-smol"])
            )
        console.print(_comparison_table(rows, options))
        figures["eval"] = rows

        console.print(Rule(f"5. on-device: {final_gguf.name}"))
        figures["bench"], seconds = timed(lambda: _bench(final_gguf, options, console))
        stages.append(Stage("bench", seconds, _bench_line(figures["bench"]), [out / "bench.json"]))
        (out / "bench.json").write_text(json.dumps(figures["bench"], indent=2, default=str) + "\n")

        console.print(Rule("6. serve: OpenAI-compatible /v1/chat/completions"))
        figures["serve"], seconds = timed(lambda: _serve(final_gguf, console))
        calls = figures["serve"]["tool_calls"]
        stages.append(Stage("serve", seconds, f"{len(calls)} tool call(s): {_calls_line(calls)}"))

    figures["stages"] = [
        {"stage": s.name, "seconds": round(s.seconds, 1), "result": s.result} for s in stages
    ]
    (out / "summary.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    console.print(Rule("summary"))
    console.print(_summary_table(stages, out))
    return figures


def _cases(row: dict[str, Any]) -> str:
    ast = row["bfcl"].get("non_live_ast")
    return f"{row['cases']} cases, non-live AST {_pct(ast)}%"


def _calls_line(calls: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['name']}({c['arguments']})" for c in calls) or "none"


def _data(out: Path, seed: int, console: Console) -> dict[str, Any]:
    from hammer_fc.augment.masking import mask_example
    from hammer_fc.formats.bfcl import load_bfcl
    from hammer_fc.prepare.run import prepare, summary_rows
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
    from hammer_fc.eval.report import cases_progress, rich_table
    from hammer_fc.eval.runner import run_eval

    # An eval directory resumes the run it holds; the quickstart's models and settings change
    # between runs (a fresh quick adapter every time), so every run starts its evals afresh.
    shutil.rmtree(out, ignore_errors=True)
    with cases_progress(console) as progress:
        summary = run_eval(
            model,
            EVAL_BENCH,
            out_dir=out,
            limit=options.eval_limit,
            seed=options.seed,
            max_new_tokens=options.max_new_tokens,
            constrained=options.constrained,
            progress=progress,
            backend_options={"n_threads": options.threads} if options.threads else None,
        )
    console.print(rich_table(summary))
    return {
        "per_category": {name: r["accuracy"] for name, r in summary["benches"].items()},
        "cases": sum(r["cases"] for r in summary["benches"].values()),
        "bfcl": summary.get("bfcl", {}),
    }


def _train(out: Path, options: QuickstartOptions, console: Console) -> tuple[Path, dict[str, Any]]:
    from hammer_fc.train.config import load_recipe
    from hammer_fc.train.trainer import TrainJob, run_training

    recipe = load_recipe("smollm2-cpu", max_steps=options.train_steps)
    shutil.rmtree(out, ignore_errors=True)  # a demo run trains afresh, never resumes an old one
    result = run_training(TrainJob("smollm2-135m", ["bfcl:live"], out, recipe, resume=False), console)
    done = result.summary
    console.print(
        f"adapter written to {result.out_dir}: {done['steps']} steps, {done['tokens']:,} tokens, "
        f"final loss {done['final_loss']}, {done['seconds']} s "
        f"({done['tokens_per_s']} tok/s on {done['device']})"
    )
    return result.out_dir, result.summary


def _export(model: str, out: Path, console: Console) -> Path:
    from hammer_fc.export import export_gguf
    from hammer_fc.model_spec import resolve

    path = export_gguf(resolve(model), out, "Q4_K_M", console=console)
    console.print(f"exported {model} -> {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return path


def _comparison_table(rows: dict[str, dict[str, Any]], options: QuickstartOptions) -> Table:
    """One column per model, one row per category: stays readable in an 80-column terminal."""
    how = "constrained decoding" if options.constrained else "free decoding"
    table = Table(
        title=f"BFCL non-live subset, accuracy % ({options.eval_limit} cases per category, {how})",
        caption="trained on BFCL live only; every model sees the same seeded cases",
    )
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


def _bench_line(result: dict[str, Any]) -> str:
    """The on-device figures a reader looks for first: size, memory, one tool call."""
    model = result["models"][0]
    call = model["tool_call"]
    right = "right" if call["right_function"] else "wrong"
    return (
        f"{model['file_size_mib']:.0f} MiB, peak RSS {model['peak_rss_mib']:.0f} MiB, one tool call "
        f"({call['tools']} tools) in {call['latency_s']:.1f} s, {right} function"
    )


def _summary_table(stages: list[Stage], out: Path) -> Table:
    total = sum(s.seconds for s in stages)
    table = Table(
        title=f"hammer quickstart: {len(stages)} steps in {total:.0f} s", caption=f"all under {out}/"
    )
    table.add_column("stage")
    table.add_column("s", justify="right")
    table.add_column("result")
    table.add_column("files")
    for stage in stages:
        files = ", ".join(str(f.relative_to(out)) if f.is_relative_to(out) else str(f) for f in stage.files)
        table.add_row(stage.name, f"{stage.seconds:.0f}", stage.result, files)
    return table


def _serve(path: Path, console: Console) -> dict[str, Any]:
    import openai

    from hammer_fc.inference.load import load_backend
    from hammer_fc.model_spec import resolve
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
