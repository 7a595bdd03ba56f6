"""SpachNet -> one self-contained ONNX file whose metadata carries the spec.

We use the torch.export-based exporter (`dynamo=True`, torch's default since 2.9): it traces
shapes as symbols, so a dimension declared dynamic either stays dynamic in the graph or
the export fails loudly, never silently pinned. The legacy TorchScript exporter is
deprecated and produced twice the nodes on our models. Weights are stored inside the
.onnx file; only a model over protobuf's 2 GB limit gets a `.onnx.data` file beside it.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .._version import __version__
from ..model_io import metadata as meta
from ..diagnostics import UserError
from ..diagnostics.codes import E909
from ..lang.ir import Spec
from ..lang.kinds import KINDS
from ..lang.printer import to_text
from ..lang.sizes import total_stride
from ..runtime.precision import FILE_PRECISIONS, choose, torch_dtype

MIN_OPSET = 18  # the exporter's own opset; LayerNormalization alone needs 17
PROTOBUF_LIMIT = 2**31 - 2**26  # 2 GiB less headroom for the graph itself


class ExportError(UserError):
    """An export that cannot be made as asked; the message says why."""

    code = E909


@dataclass(frozen=True)
class OnnxOptions:
    opset: int = MIN_OPSET
    batch: int | None = None  # None: a dynamic batch axis
    dynamic_size: bool = False
    dtype: str = "fp32"


def check_options(spec: Spec, options: OnnxOptions) -> None:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= options.opset <= newest:
        raise ExportError(f"opset {options.opset} is not supported: choose {MIN_OPSET}..{newest}")
    if options.batch is not None and options.batch < 1:
        raise ExportError(f"--batch must be 'dynamic' or a positive integer, not {options.batch}")
    choose(options.dtype, FILE_PRECISIONS, command="export")
    if options.dynamic_size:
        fixed = [(i + 1, k) for i, stage in enumerate(spec.stages) for k in stage.kinds if KINDS[k].grid_tied]
        if fixed:
            index, kind = fixed[0]
            stage = spec.stages[index - 1]
            raise ExportError(
                f"--dynamic-size: stage {index} of '{spec.name}' has {kind} blocks, whose token-mixing "
                f"weights are sized for exactly {stage.tokens} tokens ({stage.grid[0]}x{stage.grid[1]}), "
                f"so its input must stay {spec.input[0]}x{spec.input[1]}")


def onnx_metadata(spec: Spec, options: OnnxOptions, weights: str, info: meta.ModelInfo | None = None,
                  features: list[dict] | None = None) -> dict[str, str]:
    """The spec, the traced shape and the model's preprocessing and labels (spachc.model_io.metadata)."""
    info = info or meta.ModelInfo(meta.default_preprocessing(spec.input, spec.channels))
    entries = {
        meta.VERSION: __version__,
        meta.SPEC: to_text(spec),
        meta.SPEC_HASH: spec.hash,
        meta.INPUT_SIZE: f"{spec.input[0]}x{spec.input[1]}",
        meta.INPUT_CHANNELS: str(spec.channels),
        meta.DYNAMIC_SIZE: "true" if options.dynamic_size else "false",
        meta.BATCH: "dynamic" if options.batch is None else str(options.batch),
        meta.DTYPE: options.dtype,
        **meta.normalize_entries(info.preprocessing),
        **meta.model_info_entries(info),
        meta.WEIGHTS: weights,
    }
    if features is not None:
        entries[meta.FEATURES] = json.dumps(features)
    return entries


def output_names(model: torch.nn.Module) -> list[str]:
    """'logits' for a classifier; one name per feature map of a backbone: stage1, stage2, ...
    (block1, ... for the blocks of a single-stage model)."""
    if not hasattr(model, "out_indices"):
        return ["logits"]
    unit = "block" if len(model.spec.stages) == 1 else "stage"
    return [f"{unit}{i + 1}" for i in model.out_indices]


def example_input(spec: Spec, options: OnnxOptions) -> torch.Tensor:
    # A dynamic batch traced at 1 would be specialised to 1, so trace a dynamic one at 2. For the
    # same reason a dynamic size is traced where every stage's grid is at least 2 tokens a side:
    # at a 1x1 last grid (hybrid_s at input 32) the exporter pinned height and width to 32.
    batch = options.batch if options.batch is not None else 2
    size = spec.input
    if options.dynamic_size:
        least = 2 * total_stride(spec)
        size = (max(size[0], least), max(size[1], least))
    return torch.randn(batch, spec.channels, *size, dtype=torch_dtype(options.dtype))


def dynamic_shapes(options: OnnxOptions) -> dict | None:
    axes = {}
    if options.batch is None:
        axes[0] = torch.export.Dim("batch")
    if options.dynamic_size:
        axes[2], axes[3] = torch.export.Dim("height"), torch.export.Dim("width")
    return {"images": axes} if axes else None


def weight_bytes(model: torch.nn.Module, dtype: torch.dtype) -> int:
    itemsize = torch.empty((), dtype=dtype).element_size()
    return sum(t.numel() * (itemsize if t.is_floating_point() else t.element_size())
               for t in model.state_dict().values())


def export_onnx(model: torch.nn.Module, spec: Spec, path: str | Path, options: OnnxOptions,
                weights: str = "initialisation", info: meta.ModelInfo | None = None) -> Path:
    """Write the ONNX file to `path` (plus `path.data` only above 2 GB) and return `path`.

    The model is exported in eval mode and in `options.dtype`; the caller's module is not changed.
    A backbone (`build(spec, features_only=True)`) gets one output per feature map.
    """
    check_options(spec, options)
    path = Path(path)
    dtype = torch_dtype(options.dtype)
    net = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            program = _quiet_export(
                net, (example_input(spec, options),), dynamo=True, input_names=["images"],
                output_names=output_names(model), opset_version=options.opset, dynamic_shapes=dynamic_shapes(options),
                external_data=False, optimize=True, verbose=False)
    finally:
        net.train(was_training)
    features = model.feature_info.get_dicts() if hasattr(model, "out_indices") else None
    program.model.metadata_props.update(onnx_metadata(spec, options, weights, info, features))
    program.model.doc_string = f"{spec.name}: exported by spachc {__version__}"
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path), external_data=needs_external_data(model, options.dtype))
    return path


def needs_external_data(model: torch.nn.Module, dtype: str) -> bool:
    """Only a graph over protobuf's 2 GB limit gets its weights in a `.onnx.data` file."""
    return weight_bytes(model, torch_dtype(dtype)) > PROTOBUF_LIMIT


def _quiet_export(*args, **kwargs):
    """torch.onnx.export without the exporter's chatter (optional torchvision ops it skips,
    its own deprecation notes); real failures still raise."""
    registry_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.onnx.export(*args, **kwargs)
    finally:
        registry_log.setLevel(level)

