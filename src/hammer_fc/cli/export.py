"""``hammer export``: a model (adapter merged) to a GGUF file llama.cpp runs (see :mod:`hammer_fc.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=False, pretty_exceptions_enable=False)


@app.callback(invoke_without_command=True)
def export(
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="smollm2-135m, hammer-smol, a Hugging Face id or directory, a .gguf."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--output", help="The GGUF file to write.")],
    adapter: Annotated[
        str | None, typer.Option("--adapter", help="LoRA adapter directory, merged before export.")
    ] = None,
    quant: Annotated[
        str, typer.Option("--quant", "-q", help="Q4_K_M, Q5_K_M, Q6_K, Q8_0, F16 or F32.")
    ] = "Q4_K_M",
    threads: Annotated[int | None, typer.Option(help="Quantizer threads (default: all cores).")] = None,
) -> None:
    """Merge the adapter, write GGUF and quantize it with llama.cpp."""
    from rich.console import Console

    from hammer_fc.export import export_gguf
    from hammer_fc.model_spec import resolve
    from hammer_fc.outputs import check_output

    check_output(out)  # before loading and merging the model
    console = Console(stderr=True)
    path = export_gguf(resolve(model, adapter), out, quant, threads=threads, console=console)
    size = path.stat().st_size / 2**20
    console.print(f"wrote {path} ({quant.upper()}, {size:.1f} MiB)", highlight=False, soft_wrap=True)
