"""Model folders, the convention of model hubs: one directory holds all a model needs.

    DIR/config.json        spec text and hash, and timm's `pretrained_cfg` (input_size, mean,
                           std, interpolation, crop_pct, crop_mode, num_classes, label_names)
    DIR/model.safetensors  the weights, carrying the same spec and preprocessing in its metadata

`spachc save SRC DIR` and `spachc.save` write one (spachc/model_io/create.py); every command
that takes a model reads it. Reading the config needs no torch, so `diff`, `graph` and
`inspect` accept folders without it. Every field of config.json is checked (type, range,
nesting, size, and agreement with its spec), each failure one coded error.
"""

from __future__ import annotations

from pathlib import Path

from .._version import __version__
from ..files.jsonfile import read_format_file
from ..diagnostics import UserError
from ..lang.ir import Spec
from ..lang.printer import to_text
from . import metadata as meta
from .header import read_header
from .kinds import CONFIG, RUN_BEST, RUN_STATE, WEIGHTS, is_model_folder, is_run_folder, model_file  # noqa: F401
from .weights_header import spec_from_text

FORMAT = "spachc-model"
FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 16 * 2**20
MAX_CONFIG_DEPTH = 8  # {"pretrained_cfg": {"input_size": [...]}} is 3 deep


class FolderError(UserError):
    """A model folder that cannot be used; the message names it and says why."""

    code = "E1211"


def config_dict(spec: Spec, info: meta.ModelInfo, weights: str) -> dict:
    cfg = info.preprocessing.to_cfg()
    cfg["num_classes"] = spec.classes
    if info.labels is not None:
        cfg["label_names"] = list(info.labels)
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "architecture": "spachc", "spachc_version": __version__,
        "name": spec.name, "spec": to_text(spec), "spec_hash": spec.hash,
        "num_features": spec.stages[-1].dim, "weights": weights, "pretrained_cfg": cfg,
    }


def read_config(folder: str | Path) -> dict:
    """config.json, bounded in size and nesting before and after parsing (E825)."""
    path = Path(folder) / CONFIG
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_CONFIG_BYTES:
        raise FolderError(f"{path}: {size:,} bytes; a model config is at most {MAX_CONFIG_BYTES:,}", code="E825")
    try:
        config = read_format_file(path, what="spachc model config", format=FORMAT, version=FORMAT_VERSION,
                                  version_key="format_version", error=FolderError,
                                  missing=f"{folder}: not a model folder (no {CONFIG}); write one with "
                                          "`spachc save SRC DIR`")
    except RecursionError:
        raise FolderError(f"{path}: nested too deeply to be a model config", code="E825") from None
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise FolderError(f"{path}: nested more than {MAX_CONFIG_DEPTH} levels deep; not a model config",
                          code="E825")
    return config


def _depth(value, level: int = 0) -> int:
    if level > MAX_CONFIG_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def folder_spec(folder: str | Path) -> Spec:
    """The spec of a model folder, from config.json alone (no torch)."""
    config = read_config(folder)
    origin = f"{Path(folder) / CONFIG}"
    if "spec" not in config:
        raise FolderError(f"{origin}: has no \"spec\"")
    return spec_from_text(config["spec"], config.get("spec_hash"), f"{origin}[spec]", error=FolderError,
                          code="E1211")


def folder_info(folder: str | Path, spec: Spec | None = None) -> meta.ModelInfo:
    """The preprocessing and labels of config.json's pretrained_cfg, checked field by field
    and against the folder's spec (input size, channels, num_classes, label count)."""
    config = read_config(folder)
    origin = f"{Path(folder) / CONFIG}"
    cfg = config.get("pretrained_cfg")
    if not isinstance(cfg, dict):
        raise FolderError(f"{origin}: has no \"pretrained_cfg\" object")
    spec = spec or folder_spec(folder)
    try:
        labels = cfg.get("label_names")
        labels = meta.checked_labels(labels, f"{origin}: label_names") if labels is not None else None
        pre = meta.Preprocessing.from_cfg(cfg)
        info = meta.ModelInfo(pre, labels).check_against(spec.input, spec.channels, spec.classes, origin)
    except meta.MetadataError as exc:
        message = exc.diagnostics[0].message
        raise FolderError(message if message.startswith(origin) else f"{origin}: {message}", code=exc.code,
                          hint=exc.hint) from None
    classes = cfg.get("num_classes", spec.classes)
    if classes != spec.classes:
        raise FolderError(f"{origin}: pretrained_cfg num_classes is {meta._short(classes)}, but its spec has "
                          f"{spec.classes} classes", code="E827")
    return info


def model_info(path: str | Path, spec: Spec) -> meta.ModelInfo:
    """Preprocessing and labels recorded for a model folder, a .safetensors or an .onnx file
    (the previous defaults, with a note saying what is missing, for files that record none)."""
    path = Path(path)
    if is_model_folder(path):
        return folder_info(path, spec)
    path = model_file(path)  # a run folder: its best weights record the preprocessing
    if path.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        metadata = {p.key: p.value for p in proto.metadata_props}
    else:
        metadata = read_header(path).metadata
    info = meta.read_model_info(metadata, spec.input, spec.channels, str(path))
    return info.check_against(spec.input, spec.channels, spec.classes, str(path)) if info.recorded else info


def spec_of(arg, overrides=()) -> Spec:
    """A spec from a .spach file, a zoo name, a model folder, a training run folder or a
    spachc .safetensors, without torch."""
    from .kinds import CARRIES_SPEC, MODEL_FOLDER, kind_of, refuse_overrides
    from .weights_header import weights_spec

    refuse_overrides(arg, overrides)
    kind = kind_of(arg)
    if kind == MODEL_FOLDER:
        return folder_spec(arg)
    if kind in CARRIES_SPEC:
        return weights_spec(arg)
    from ..lang.frontend import load

    return load(arg, overrides)
