"""``hammer serve``: an OpenAI-compatible tool-calling server (see :mod:`hammer_fc.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=False, pretty_exceptions_enable=False)


@app.callback(invoke_without_command=True)
def serve(
    model: Annotated[
        str, typer.Option("--model", "-m", help="A .gguf file, smollm2-135m, hammer-smol or an HF id/dir.")
    ] = "smollm2-135m",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    constrained: Annotated[
        bool,
        typer.Option(
            "--constrained/--free", help="Decode under a grammar built from each request's tools (default)."
        ),
    ] = True,
    template: Annotated[
        str, typer.Option(help="Prompt template: hammer (our models) or hammer-chat (released Hammer 2.x).")
    ] = "hammer",
    max_tokens: Annotated[
        int | None, typer.Option(help="Default answer length in tokens when a request sets none.")
    ] = None,
    adapter: Annotated[
        str | None, typer.Option(help="LoRA adapter directory (runs in transformers; needs --free).")
    ] = None,
    n_ctx: Annotated[
        int | None, typer.Option(help="Context length (default: the model's, at most 8192).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads.")] = None,
    max_queue: Annotated[
        int | None,
        typer.Option(min=0, help="Requests that may wait behind the running one (429 beyond; default 16)."),
    ] = None,
    request_timeout: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds per request, queueing included, then 408 (0: none; default 300)."),
    ] = None,
    max_tools: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Show the model only the N tools most relevant to the conversation (BM25) when a "
            "request offers more; only those can be called (0: all; default: 5 for smollm2-135m "
            "and hammer-smol, all for other models).",
        ),
    ] = None,
    jump_forward: Annotated[
        bool,
        typer.Option(
            "--jump-forward/--no-jump-forward",
            help="Feed text the grammar forces in one batch (llama.cpp; same answers, fewer steps).",
        ),
    ] = True,
    abstain_threshold: Annotated[
        str,
        typer.Option(
            "--abstain-threshold",
            metavar="FLOAT|off",
            help="Answer [] when the model's probability of the no-call answer is at least this "
            "(0..1; tool_choice auto), else a constrained answer must call; off: as the model "
            "decodes (default: the adapter's abstain.json or MODEL.abstain.json, else off).",
        ),
    ] = "card",
) -> None:
    """Serve POST /v1/chat/completions (tools, tool_choice, token streaming, response_format),
    GET /v1/models, /health."""
    from hammer_fc.serve import serve as run_server

    options = {k: v for k, v in {"n_ctx": n_ctx, "n_threads": threads}.items() if v is not None}
    if adapter is None:
        options["jump_forward"] = jump_forward
    if max_queue is not None:
        options["max_queue"] = max_queue
    if request_timeout is not None:
        options["request_timeout"] = request_timeout or None
    run_server(
        model,
        host=host,
        port=port,
        constrained=constrained,
        template=template,
        max_new_tokens=max_tokens,
        adapter=adapter,
        abstain_threshold=abstain_threshold,
        max_tools=max_tools,
        **options,
    )
