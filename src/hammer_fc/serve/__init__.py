"""An OpenAI-compatible tool-calling server built on the inference backends and the Hammer
prompt and parser: :func:`create_app` for any backend, :func:`serve` for ``hammer serve``."""

from __future__ import annotations

import logging
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
    abstain_threshold: float | str | None = "card",
    max_tools: int | None = None,
    **backend_options: Any,
) -> None:
    """Load ``model`` (a GGUF runs in llama.cpp) and serve it until interrupted.

    ``abstain_threshold``: a number in [0, 1], ``"off"``, or ``"card"`` (the model's
    calibration file where it has one, see :mod:`hammer_fc.inference.abstain`). ``max_tools`` ``None`` is
    the measured default for the embedded models (:data:`DEFAULT_MAX_TOOLS`) and no limit for
    any other; 0 is no limit."""
    from hammer_fc.errors import HammerError
    from hammer_fc.inference.abstain import resolve_threshold
    from hammer_fc.inference.base import DEFAULT_MAX_NEW_TOKENS
    from hammer_fc.inference.load import backend_class, default_backend, load_backend, supported_options
    from hammer_fc.inference.preselect import DEFAULT_MAX_TOOLS, check_max_tools
    from hammer_fc.model_spec import ALIASES, resolve

    if max_tools is None and model in ALIASES:
        max_tools = DEFAULT_MAX_TOOLS
    max_tools = check_max_tools(max_tools, field="max_tools")
    check_address(host, port)  # before the model loads: a taken port is known in a moment
    spec = resolve(model, adapter, prefer="gguf")
    threshold, source = resolve_threshold(abstain_threshold, spec)
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
            abstain_threshold=threshold,
            max_tools=max_tools,
        )
        if threshold is not None:
            logging.getLogger("hammer_fc.serve").warning("abstain threshold %g (%s)", threshold, source)
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
