"""Model folders, the convention of model hubs: one directory holds all a model needs.

    DIR/config.json        spec text and hash, and timm's `pretrained_cfg` (input_size, mean,
                           std, interpolation, crop_pct, crop_mode, num_classes, label_names)
    DIR/model.safetensors  the weights, carrying the same spec and preprocessing in its metadata

`spachc save SRC DIR` writes one; `spachc.from_pretrained(DIR)` and every command that takes
a model read it. Reading the config needs no torch, so `diff`, `graph` and `inspect` accept
folders without it. A training run folder (`spachc train --out RUN`) is taken the same way:
it stands for RUN/best.safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path

from .jsonfile import read_format_file
from .lang.diagnostics import UserError
from ._version import __version__
from . import metadata as meta
from .lang.diagnostics import SpecError
from .lang.frontend import parse
from .lang.ir import Spec
from .lang.printer import to_text

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
FORMAT = "spachc-model"
FORMAT_VERSION = 1
RUN_STATE = "state.pt"  # a training run folder's state (spachc/train/run_folder.py writes it)
RUN_BEST = "best.safetensors"  # ... and its best weights, which the folder stands for


class FolderError(UserError):
    """A model folder that cannot be used; the message names it and says why."""

    code = "E1211"


def is_model_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG).is_file()


def is_run_folder(path: str | Path) -> bool:
    """A training run folder (`spachc train --out RUN`, spachc/train/run_folder.py): it stands
    for its best weights wherever a model is taken."""
    path = Path(path)
    return (path.is_dir() and not (path / CONFIG).exists()
            and ((path / RUN_STATE).is_file() or (path / RUN_BEST).is_file()))


def model_file(path: str | Path) -> Path:
    """The weights file a model argument stands for: DIR/model.safetensors for a model folder,
    RUN/best.safetensors for a training run folder, the path itself otherwise."""
    path = Path(path)
    if is_model_folder(path):
        return path / WEIGHTS
    if is_run_folder(path):
        if not (path / RUN_BEST).is_file():
            raise FolderError(f"{path}: a training run with no finished epoch yet (no {RUN_BEST})", code="E811",
                              hint=f"let it finish an epoch, or continue it: spachc train --resume --out {path}")
        return path / RUN_BEST
    return path


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
    path = Path(folder) / CONFIG
    config = read_format_file(path, what="spachc model config", format=FORMAT, version=FORMAT_VERSION,
                              version_key="format_version", error=FolderError,
                              missing=f"{folder}: not a model folder (no {CONFIG}); write one with `spachc save SRC DIR`")
    return config


def folder_spec(folder: str | Path) -> Spec:
    """The spec of a model folder, from config.json alone (no torch)."""
    config = read_config(folder)
    try:
        spec = parse(config["spec"], source=f"{Path(folder) / CONFIG}[spec]")
    except KeyError:
        raise FolderError(f"{Path(folder) / CONFIG}: has no \"spec\"") from None
    except SpecError as exc:
        raise FolderError(f"{Path(folder) / CONFIG}: its spec is invalid:\n{exc}") from None
    if config.get("spec_hash") not in (None, spec.hash):
        raise FolderError(f"{Path(folder) / CONFIG}: spec_hash {str(config['spec_hash'])[:12]} does not match its "
                          f"spec text ({spec.hash[:12]}); the file was altered")
    return spec


def folder_info(folder: str | Path) -> meta.ModelInfo:
    config = read_config(folder)
    cfg = config.get("pretrained_cfg")
    if not isinstance(cfg, dict):
        raise FolderError(f"{Path(folder) / CONFIG}: has no \"pretrained_cfg\" object")
    labels = cfg.get("label_names")
    try:
        return meta.ModelInfo(meta.Preprocessing.from_cfg(cfg), tuple(labels) if labels is not None else None)
    except meta.MetadataError as exc:
        raise FolderError(f"{Path(folder) / CONFIG}: {exc}") from None


def spec_of(arg: str, overrides=()) -> Spec:
    """A spec from a .spach file, a zoo name, a model folder, a training run folder or a
    spachc .safetensors, without torch."""
    weights = str(arg).endswith(".safetensors") or is_run_folder(arg)
    if (is_model_folder(arg) or weights) and overrides:
        raise FolderError(f"{arg}: --set cannot change the spec stored with trained weights", code="E602",
                          hint="write the spec out (spachc build SRC --json, or inspect), edit it, and use that")
    if is_model_folder(arg):
        return folder_spec(arg)
    if weights:
        from .weights_file import weights_spec

        return weights_spec(arg)
    from .lang.frontend import load

    return load(arg, overrides)


def model_info(path: str | Path, spec: Spec) -> meta.ModelInfo:
    """Preprocessing and labels recorded for a model folder, a .safetensors or an .onnx file
    (the previous defaults, with a note, for files that predate recording them)."""
    path = Path(path)
    if is_model_folder(path):
        return folder_info(path)
    path = model_file(path)  # a run folder: its best weights record the preprocessing
    if path.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        metadata = {p.key: p.value for p in proto.metadata_props}
    else:
        from .export.safetensors_header import read_header

        metadata = read_header(path).metadata
    return meta.read_model_info(metadata, spec.input, spec.channels, str(path))


def save_folder(model, spec: Spec, folder: str | Path, info: meta.ModelInfo, weights: str) -> Path:
    """Write DIR/model.safetensors then DIR/config.json (each atomically; the config last, so a
    folder with a config always has its weights)."""
    from .nn.weights import save_weights, write_atomically

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"{folder}: exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model, spec, folder / WEIGHTS, extra={**meta.model_info_entries(info), meta.WEIGHTS: weights})
    text = json.dumps(config_dict(spec, info, weights), indent=2) + "\n"
    write_atomically(folder / CONFIG, text.encode())
    return folder


def from_pretrained(path: str | Path, features_only: bool = False, out_indices=None, device="cpu"):
    """A model folder (or a spachc .safetensors) -> the module with its weights, in eval mode,
    with `.pretrained_cfg` (timm's field names) and `.model_info` attached."""
    from .nn.build import build
    from .nn.weights import check_state, load_weights

    path = Path(path)
    weights = model_file(path)
    stored, state = load_weights(weights)
    if is_model_folder(path):
        spec = folder_spec(path)
        if spec.hash != stored.hash:
            raise FolderError(f"{path}: {CONFIG} describes spec {spec.hash[:12]} but {WEIGHTS} holds weights of "
                              f"{stored.hash[:12]}")
    check_state(stored, state, str(weights))
    info = model_info(path, stored)
    model = build(stored, device=device, features_only=features_only, out_indices=out_indices)
    if features_only:
        model.load_classifier_state(state)
    else:
        model.load_state_dict(state, strict=True)
    model.model_info = info
    model.pretrained_cfg = {**info.preprocessing.to_cfg(), "num_classes": stored.classes,
                            **({"label_names": list(info.labels)} if info.labels else {})}
    return model.eval()
