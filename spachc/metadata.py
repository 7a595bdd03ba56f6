"""Every metadata key spachc writes into its files, and what travels with a model besides
its tensors: the preprocessing its images need and the names of its classes.

One torch-free module owns the keys, so the checkpoint writer, the exporters, `inspect`,
`predict` and the model-folder reader cannot drift apart. Safetensors and ONNX metadata are
flat string-to-string maps; model folders keep the same facts in `config.json` under timm's
`pretrained_cfg` field names (`input_size`, `mean`, `std`, `interpolation`, `crop_pct`,
`crop_mode`, `num_classes`, `label_names`), so tools written for timm checkpoints read them.

Files written before preprocessing was recorded still load: `read_model_info` falls back to
the previous defaults and says so in `ModelInfo.note`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

# --- the keys ---------------------------------------------------------------------------------

SPEC = "spachc.spec"                    # the spec text: a file alone rebuilds its model
SPEC_HASH = "spachc.spec_hash"
VERSION = "spachc.version"
DTYPE = "spachc.dtype"                  # the stored floating dtype (safetensors)
ALIASES = "spachc.aliases"              # shared tensor names -> the stored name (safetensors)
CHECKSUM = "spachc.sha256"              # of the tensor data (safetensors)
EPOCH = "spachc.epoch"                  # training checkpoints
WEIGHTS = "spachc.weights"              # where exported weights came from
PREPROCESSING = "spachc.preprocessing"  # JSON, pretrained_cfg field names (see Preprocessing)
LABELS = "spachc.labels"                # JSON list of class names, index order
INPUT_SIZE = "spachc.input_size"        # ONNX: "HxW" traced
INPUT_CHANNELS = "spachc.input_channels"
DYNAMIC_SIZE = "spachc.dynamic_size"
BATCH = "spachc.batch"
NORMALIZE_MEAN = "spachc.normalize.mean"  # ONNX: the preprocessing's mean/std as "a,b,c", for
NORMALIZE_STD = "spachc.normalize.std"    # readers that want no JSON; derived from PREPROCESSING
FEATURES = "spachc.features"            # ONNX of a backbone: JSON feature_info of its outputs
LEGACY_EVAL_TRANSFORM = "spachc.eval_transform"  # read only: checkpoints before PREPROCESSING

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_CROP_PCT = 0.875
INTERPOLATIONS = ("bicubic", "bilinear", "nearest")
# The one resize rule spachc implements (spachc.preprocess.resize_center_crop), named in the record
# so that a reader knows which it is: timm's transforms floor the size, spachc rounds it.
RESIZE_MODES = {"shorter_side_round": "resize the shorter side to round(max(H, W) / crop_pct), keeping the "
                                      "aspect ratio, with the `interpolation` filter; then take the centred "
                                      "H x W crop"}


class MetadataError(ValueError):
    """Recorded preprocessing or labels that cannot be read; the message names the file."""

    code = "E1212"


@dataclass(frozen=True)
class Preprocessing:
    """How an image file becomes the network's input, exactly as `spachc eval` does it:
    convert to `channels` (L or RGB), resize the shorter side (RESIZE_MODES), centre-crop to
    `input_size` (H, W), scale to [0, 1], subtract `mean` and divide by `std` per channel."""

    input_size: tuple[int, int]
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pct: float = DEFAULT_CROP_PCT
    interpolation: str = "bicubic"
    crop_mode: str = "center"
    resize_mode: str = "shorter_side_round"

    def __post_init__(self):
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise MetadataError(f"preprocessing: mean and std need {self.channels} values each, got "
                                f"{len(self.mean)} and {len(self.std)}")
        if self.interpolation not in INTERPOLATIONS:
            raise MetadataError(f"preprocessing: unknown interpolation '{self.interpolation}' "
                                f"(known: {', '.join(INTERPOLATIONS)})")
        if self.resize_mode not in RESIZE_MODES or self.crop_mode != "center":
            raise MetadataError(f"preprocessing: resize_mode '{self.resize_mode}' with crop_mode '{self.crop_mode}' "
                                f"is not implemented (known: {', '.join(RESIZE_MODES)} with center)")
        if not 0 < self.crop_pct <= 1 or any(s <= 0 for s in self.std):
            raise MetadataError("preprocessing: crop_pct must lie in (0, 1] and every std be positive")

    def with_crop(self, crop_pct: float) -> "Preprocessing":
        return replace(self, crop_pct=crop_pct)

    def to_cfg(self) -> dict:
        """timm's pretrained_cfg fields (input_size is C, H, W there), and spachc's resize_mode."""
        return {"input_size": [self.channels, *self.input_size], "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation, "crop_pct": self.crop_pct, "crop_mode": self.crop_mode,
                "resize_mode": self.resize_mode}

    @classmethod
    def from_cfg(cls, cfg: dict) -> "Preprocessing":
        try:
            channels, h, w = (int(v) for v in cfg["input_size"])
            return cls((h, w), channels, tuple(float(v) for v in cfg["mean"]), tuple(float(v) for v in cfg["std"]),
                       float(cfg.get("crop_pct", DEFAULT_CROP_PCT)), str(cfg.get("interpolation", "bicubic")),
                       str(cfg.get("crop_mode", "center")), str(cfg.get("resize_mode", "shorter_side_round")))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, MetadataError):
                raise
            raise MetadataError(f"preprocessing: cannot read {json.dumps(cfg)[:200]} ({exc!r})") from None

    def describe(self) -> str:
        mean = ", ".join(f"{v:g}" for v in self.mean)
        std = ", ".join(f"{v:g}" for v in self.std)
        return (f"{self.input_size[0]}x{self.input_size[1]} {self.channels}-channel, {self.interpolation} resize "
                f"to crop {self.crop_pct:g}, mean ({mean}), std ({std})")


def default_preprocessing(input_size: tuple[int, int], channels: int) -> Preprocessing:
    """What spachc assumed before it recorded preprocessing: ImageNet's mean/std for 3-channel
    input, 0.5/0.5 (images scaled to [-1, 1]) otherwise; bicubic, crop 0.875."""
    if channels == 3:
        return Preprocessing(tuple(input_size), 3, IMAGENET_MEAN, IMAGENET_STD)
    return Preprocessing(tuple(input_size), channels, (0.5,) * channels, (0.5,) * channels)


@dataclass(frozen=True)
class ModelInfo:
    """What a model needs to be used, beyond its weights: preprocessing and class names.
    `note` is set when the file did not record them and defaults stand in."""

    preprocessing: Preprocessing
    labels: tuple[str, ...] | None = None
    note: str | None = None

    @property
    def recorded(self) -> bool:
        return self.note is None

    def label(self, index: int) -> str:
        return self.labels[index] if self.labels and index < len(self.labels) else str(index)


def model_info_entries(info: ModelInfo) -> dict[str, str]:
    """The metadata entries (safetensors and ONNX) that record `info`."""
    entries = {PREPROCESSING: json.dumps(info.preprocessing.to_cfg(), sort_keys=True)}
    if info.labels is not None:
        entries[LABELS] = json.dumps(list(info.labels))
    return entries


def normalize_entries(pre: Preprocessing) -> dict[str, str]:
    return {NORMALIZE_MEAN: ",".join(f"{v:g}" for v in pre.mean), NORMALIZE_STD: ",".join(f"{v:g}" for v in pre.std)}


def read_model_info(metadata: dict[str, str], input_size: tuple[int, int], channels: int,
                    origin: str = "the file") -> ModelInfo:
    """The recorded preprocessing and labels; for files written before they were recorded,
    the previous defaults with a note saying so."""
    labels = _labels(metadata, origin)
    if PREPROCESSING in metadata:
        try:
            cfg = json.loads(metadata[PREPROCESSING])
        except json.JSONDecodeError as exc:
            raise MetadataError(f"{origin}: {PREPROCESSING} is not JSON ({exc})") from None
        return ModelInfo(Preprocessing.from_cfg(cfg), labels)
    if LEGACY_EVAL_TRANSFORM in metadata:  # training checkpoints of spachc 0.1 recorded this much
        try:
            old = json.loads(metadata[LEGACY_EVAL_TRANSFORM])
            pre = Preprocessing(tuple(old["size"]), int(old["channels"]), tuple(old["mean"]), tuple(old["std"]),
                                float(old["crop_fraction"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise MetadataError(f"{origin}: {LEGACY_EVAL_TRANSFORM} cannot be read ({exc!r})") from None
        return ModelInfo(pre, labels)
    pre = default_preprocessing(input_size, channels)
    return ModelInfo(pre, labels, note=f"{origin} does not record its preprocessing (written before spachc "
                                       f"recorded it); using the previous defaults: {pre.describe()}")


def _labels(metadata: dict[str, str], origin: str) -> tuple[str, ...] | None:
    if LABELS not in metadata:
        return None
    try:
        labels = json.loads(metadata[LABELS])
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{origin}: {LABELS} is not JSON ({exc})") from None
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise MetadataError(f"{origin}: {LABELS} must be a JSON list of strings")
    return tuple(labels)
