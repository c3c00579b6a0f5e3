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
    from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS, default_backend, load_backend
    from hammer_fc.models import resolve

    check_address(host, port)  # before the model loads: a taken port is known in a moment
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
        )
        run(app, host=host, port=port)
    finally:
        engine.close()


def check_address(host: str, port: int) -> None:
    """A :class:`HammerError` if ``host:port`` cannot be listened on (taken, not this machine's,
    not a host name). The server binds it again a moment later, as uvicorn does (address reuse on)."""
    import socket

    from hammer_fc.errors import HammerError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as err:
        raise HammerError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


__all__ = ["BackgroundServer", "check_address", "create_app", "serve"]
