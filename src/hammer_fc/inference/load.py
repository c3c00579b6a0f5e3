"""Choosing and opening a backend for a model spec: a registry by name, imported lazily (each
backend pulls in its own heavy library), and the capabilities each declares."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal

from hammer_fc.errors import HammerError
from hammer_fc.inference.base import Backend
from hammer_fc.model_spec import ModelSpec

BackendName = Literal["hf", "llamacpp", "openai"]
_CLASSES: dict[str, tuple[str, str]] = {
    "hf": ("hammer_fc.inference.transformers_backend", "TransformersBackend"),
    "llamacpp": ("hammer_fc.inference.llamacpp_backend", "LlamaCppBackend"),
    "openai": ("hammer_fc.inference.openai_backend", "OpenAIBackend"),
}
BACKENDS: tuple[BackendName, ...] = ("hf", "llamacpp", "openai")


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``: what it supports (``grammar``, ``options``) before it loads."""
    if name not in _CLASSES:
        raise HammerError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})", field="backend")
    module, cls = _CLASSES[name]
    return getattr(import_module(module), cls)


def default_backend(spec: ModelSpec) -> BackendName:
    """llama.cpp for a GGUF without an adapter, the OpenAI client for a server, else transformers."""
    if spec.kind == "openai":
        return "openai"
    if spec.gguf_path is not None and spec.adapter is None:
        return "llamacpp"
    return "hf"


def supported_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``options`` backend ``name`` declares, the rest dropped (a thread count means nothing to
    an OpenAI server): the CLI offers one set of flags for every backend."""
    accepted = backend_class(name).options
    return {key: value for key, value in options.items() if key in accepted}


def load_backend(spec: ModelSpec, backend: str | None = None, **options: Any) -> Backend:
    """Open ``spec`` with ``backend`` (default: :func:`default_backend`); ``options`` go to the
    backend's constructor (``batch_size``, ``n_ctx``, ``n_threads``, ``reuse_prefix``, ...)."""
    name = backend or default_backend(spec)
    cls = backend_class(name)
    if (name == "openai") != (spec.kind == "openai"):
        want = "an openai:<model>@<base_url> spec" if name == "openai" else "a local model"
        raise HammerError(f"the {name} backend needs {want}, got {spec.label!r}", field="backend")
    return cls(spec, **options)  # type: ignore[call-arg]  (every registered class takes the spec)
