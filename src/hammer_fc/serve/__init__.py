"""An OpenAI-compatible tool-calling server built on the inference backends and the Hammer
prompt and parser: :func:`create_app` for any backend, :func:`serve` for ``hammer serve``."""

from __future__ import annotations

from typing import Any

from hammer_fc.serve.app import DEFAULT_MAX_QUEUE, DEFAULT_REQUEST_TIMEOUT, create_app
from hammer_fc.serve.server import BackgroundServer, run


def serve(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    constrained: bool = True,
    template: str = "hammer",
    max_new_tokens: int | None = None,
    adapter: str | None = None,
    backend: str | None = None,
    max_queue: int = DEFAULT_MAX_QUEUE,
    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
    max_tools: int | None = None,
    **backend_options: Any,
) -> None:
    """Load ``model`` (a GGUF runs in llama.cpp) and serve it until interrupted. ``max_tools``
    ``None`` is the measured default for the embedded models (:data:`DEFAULT_MAX_TOOLS`) and no
    limit for any other; 0 is no limit."""
    from hammer_fc.errors import HammerError
    from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS, default_backend, load_backend
    from hammer_fc.inference.preselect import DEFAULT_MAX_TOOLS, check_max_tools
    from hammer_fc.models import ALIASES, resolve

    if max_tools is None and model in ALIASES:
        max_tools = DEFAULT_MAX_TOOLS
    max_tools = check_max_tools(max_tools, field="max_tools")
    spec = resolve(model, adapter, prefer="gguf")
    chosen = backend or default_backend(spec)
    if constrained and chosen != "llamacpp":
        raise HammerError(
            f"constrained decoding runs in llama.cpp, but {spec.label} would run in {chosen}: "
            "merge and export it with `hammer export`, or serve it with --free",
            field="model",
        )
    if chosen != "llamacpp":
        backend_options.pop("jump_forward", None)  # a llama.cpp option; nothing to jump without a grammar
    engine = load_backend(spec, chosen, **backend_options)
    try:
        app = create_app(
            engine,
            template=template,
            constrained=constrained,
            model_name=spec.label or model,
            max_new_tokens=max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
            max_queue=max_queue,
            request_timeout=request_timeout,
            max_tools=max_tools,
        )
        run(app, host=host, port=port)
    finally:
        engine.close()


__all__ = ["BackgroundServer", "create_app", "serve"]
