"""A ``transformers`` llama / qwen2 model to an F16 or F32 GGUF file that llama.cpp runs.

Three things differ between the two worlds and are handled here:

- tensor names: llama.cpp's (``blk.3.attn_q.weight``), mapped with ``gguf``'s own name table;
- rotary layout: HF llama checkpoints store q/k rows in "rotate-half" order while llama.cpp's
  llama architecture applies rope to interleaved pairs, so q and k (weights and biases) are
  permuted back. Qwen2 runs with llama.cpp's NEOX rope, which is HF's layout: no permutation.
- hyperparameters and vocabulary live in key/value metadata instead of ``config.json``.

Tensors are written one at a time after the header (two passes over the state dict) so that
peak memory stays at the model plus one converted tensor, not a second full copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import gguf
import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hammer_fc.errors import HammerError
from hammer_fc.export.vocab import add_vocab

ARCHES = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2}
FILE_TYPES = {"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16}
ROPE_TYPES = ("default", "linear", "llama3")


def _permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """HF rotate-half row order -> llama.cpp interleaved pairs, per head (works for biases too)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _rope(config: Any) -> dict[str, Any]:
    """Rope parameters from either the transformers 5 (``rope_parameters``) or 4 layout."""
    params = dict(getattr(config, "rope_parameters", None) or {})
    if not params:
        params = dict(getattr(config, "rope_scaling", None) or {})
        params.setdefault("rope_theta", getattr(config, "rope_theta", 10000.0))
    params.setdefault("rope_type", params.get("type", "default"))
    if params["rope_type"] not in ROPE_TYPES:
        raise HammerError(
            f"rope type {params['rope_type']!r} cannot be exported (supported: {', '.join(ROPE_TYPES)})",
            field="config.rope_parameters",
        )
    return params


class _Plan:
    """What goes into the file: GGUF names, shapes and dtypes, decided before anything is written."""

    def __init__(self, model: Any, dtype: Literal["F16", "F32"]) -> None:
        config = model.config
        if config.model_type not in ARCHES:
            raise HammerError(
                f"architecture {config.model_type!r} cannot be exported (supported: {', '.join(ARCHES)})",
                field="model",
            )
        self.model = model
        self.config = config
        self.arch = ARCHES[config.model_type]
        self.dtype = dtype
        self.n_head = config.num_attention_heads
        self.n_head_kv = getattr(config, "num_key_value_heads", None) or self.n_head
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.n_head
        self.rope = _rope(config)
        self.tied = bool(getattr(config, "tie_word_embeddings", False))
        self.names = gguf.get_tensor_name_map(self.arch, config.num_hidden_layers)

    def tensors(self) -> Iterator[tuple[str, torch.Tensor]]:
        """(GGUF name, tensor in llama.cpp layout), in a stable order; computed lazily per tensor."""
        for hf_name, tensor in self.model.state_dict().items():
            if self.tied and hf_name == "lm_head.weight":
                continue  # llama.cpp reuses token_embd when output.weight is absent
            name = self.names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if name is None:
                raise HammerError(f"no llama.cpp name for tensor {hf_name!r}", field="model")
            if self.arch == gguf.MODEL_ARCH.LLAMA:
                if ".self_attn.q_proj." in hf_name:
                    tensor = _permute(tensor, self.n_head)
                elif ".self_attn.k_proj." in hf_name:
                    tensor = _permute(tensor, self.n_head_kv)
            yield name, tensor
        if self.rope["rope_type"] == "llama3":
            yield gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", self._rope_factors()

    def _rope_factors(self) -> torch.Tensor:
        """llama.cpp divides each rope frequency by a factor; take them from transformers' own rope."""
        scaled = self.model.model.rotary_emb.inv_freq.float()
        dims = torch.arange(0, self.head_dim, 2, dtype=torch.float32)
        plain = 1.0 / (self.rope["rope_theta"] ** (dims / self.head_dim))
        return plain / scaled

    def target_dtype(self, tensor: torch.Tensor) -> torch.dtype:
        """llama.cpp's convention: 1-D tensors (norms, biases, rope factors) stay F32."""
        return torch.float16 if self.dtype == "F16" and tensor.ndim > 1 else torch.float32

    def numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.detach().to(self.target_dtype(tensor)).contiguous().numpy()

    def add_metadata(self, writer: gguf.GGUFWriter, tokenizer: Any, name: str) -> None:
        c = self.config
        writer.add_name(name)
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_block_count(c.num_hidden_layers)
        writer.add_context_length(c.max_position_embeddings)
        writer.add_embedding_length(c.hidden_size)
        writer.add_feed_forward_length(c.intermediate_size)
        writer.add_head_count(self.n_head)
        writer.add_head_count_kv(self.n_head_kv)
        writer.add_rope_freq_base(float(self.rope["rope_theta"]))
        writer.add_layer_norm_rms_eps(float(c.rms_norm_eps))
        writer.add_vocab_size(c.vocab_size)
        writer.add_rope_dimension_count(self.head_dim)
        if self.head_dim != c.hidden_size // self.n_head:
            writer.add_key_length(self.head_dim)
            writer.add_value_length(self.head_dim)
        if self.rope["rope_type"] == "linear":
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(float(self.rope["factor"]))
        writer.add_file_type(FILE_TYPES[self.dtype])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        add_vocab(writer, tokenizer, c.vocab_size)


def write_gguf(
    model: Any, tokenizer: Any, out: Path, *, dtype: Literal["F16", "F32"] = "F16", name: str = ""
) -> Path:
    """Write ``model`` (a transformers llama/qwen2 causal LM) and its tokenizer as one GGUF file."""
    plan = _Plan(model, dtype)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[plan.arch])
    plan.add_metadata(writer, tokenizer, name or str(getattr(model.config, "_name_or_path", "")) or "model")
    count = 0
    with torch.no_grad():
        for gguf_name, tensor in plan.tensors():  # pass 1: names, shapes, sizes
            dtype_ = plan.target_dtype(tensor)
            nbytes = dtype_.itemsize * tensor.numel()
            np_dtype = np.float16 if dtype_ == torch.float16 else np.float32
            writer.add_tensor_info(gguf_name, tuple(tensor.shape), np.dtype(np_dtype), nbytes)
            count += 1
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task(f"writing {out.name} ({dtype})", total=count)
            for _, tensor in plan.tensors():  # pass 2: data, one tensor in memory at a time
                writer.write_tensor_data(plan.numpy(tensor))
                progress.advance(task)
    writer.close()
    return out
