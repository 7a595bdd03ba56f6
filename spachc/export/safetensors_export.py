"""A model's weights as a spachc .safetensors file: shared tensors stored once, the spec,
its hash, the spachc version and the dtype in the metadata (see spachc.model_io.tensors)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..model_io import metadata as meta
from ..lang.ir import Spec
from ..model_io.tensors import weights_bytes, write_atomically
from ..runtime.precision import torch_dtype


def export_safetensors(model: torch.nn.Module, spec: Spec, path: str | Path, dtype: str = "fp32",
                       weights: str = "initialisation", info: meta.ModelInfo | None = None) -> Path:
    """Write the weights (floating tensors in `dtype`) atomically to `path`, with the model's
    preprocessing and labels (the defaults when none were recorded)."""
    path = Path(path)
    info = info or meta.ModelInfo(meta.default_preprocessing(spec.input, spec.channels))
    data = weights_bytes(model, spec, torch_dtype(dtype),
                         extra={meta.WEIGHTS: weights, **meta.model_info_entries(info)})
    write_atomically(path, data)
    return path
