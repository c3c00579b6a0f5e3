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
    **backend_options: Any,
) -> None:
    """Load ``model`` (a GGUF runs in llama.cpp) and serve it until interrupted."""
    from hammer_fc.errors import HammerError
    from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS
    from hammer_fc.inference.load import backend_class, default_backend, load_backend, supported_options
    from hammer_fc.model_spec import resolve

    spec = resolve(model, adapter, prefer="gguf")
    chosen = backend or default_backend(spec)
    if constrained and not backend_class(chosen).grammar:
        raise HammerError(
            f"constrained decoding runs in llama.cpp, but {spec.label} would run in {chosen}: "
            "merge and export it with `hammer export`, or serve it with --free",
            field="model",
        )
    engine = load_backend(spec, chosen, **supported_options(chosen, backend_options))
    try:
        app = create_app(
            engine,
            template=template,
            constrained=constrained,
            model_name=spec.label or model,
            max_new_tokens=max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
            max_queue=max_queue,
            request_timeout=request_timeout,
        )
        run(app, host=host, port=port)
    finally:
        engine.close()


__all__ = ["BackgroundServer", "create_app", "serve"]
