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
import math
from dataclasses import dataclass, replace

from ..diagnostics import UserError

# --- the keys ---------------------------------------------------------------------------------

SPEC = "spachc.spec"                    # the spec text: a file alone rebuilds its model
SPEC_HASH = "spachc.spec_hash"
VERSION = "spachc.version"
DTYPE = "spachc.dtype"                  # the stored floating dtype (safetensors)
ALIASES = "spachc.aliases"              # shared tensor names -> the stored name (safetensors)
CHECKSUM = "spachc.sha256"              # of the tensor data, and of the metadata (safetensors; see below)
CHECKSUM_SCHEME = "spachc.checksum_scheme"  # "2": CHECKSUM covers metadata too; absent: tensor data only
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
MAX_INPUT_SIDE = 8192   # a recorded input side beyond this is refused: predict would allocate it
MAX_RESIZE_SIDE = 16384  # ... and so is a crop_pct that resizes images beyond this before cropping
MAX_CHANNELS = 64
MAX_LABELS = 100_000
MAX_LABEL_CHARS = 1000
# The one resize rule spachc implements (spachc.datasets.preprocess.resize_center_crop), named in the record
# so that a reader knows which it is: timm's transforms floor the size, spachc rounds it.
RESIZE_MODES = {"shorter_side_round": "resize the shorter side to round(max(H, W) / crop_pct), keeping the "
                                      "aspect ratio, with the `interpolation` filter; then take the centred "
                                      "H x W crop"}


class MetadataError(UserError):
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
        if not all(_is_int(v) and 0 < v <= MAX_INPUT_SIDE for v in self.input_size) or len(self.input_size) != 2:
            raise MetadataError(f"preprocessing: input_size must be two sides in 1..{MAX_INPUT_SIDE}, got "
                                f"{_short(self.input_size)}", code="E826")
        if not _is_int(self.channels) or not 0 < self.channels <= MAX_CHANNELS:
            raise MetadataError(f"preprocessing: channels must lie in 1..{MAX_CHANNELS}, got {_short(self.channels)}",
                                code="E826")
        if not all(_is_number(v) for v in (*self.mean, *self.std, self.crop_pct)):
            raise MetadataError("preprocessing: mean, std and crop_pct must be finite numbers", code="E826")
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
        if max(self.input_size) / self.crop_pct > MAX_RESIZE_SIDE:
            raise MetadataError(f"preprocessing: crop_pct {self.crop_pct:g} would resize images to "
                                f"{max(self.input_size) / self.crop_pct:,.0f} px before cropping (at most "
                                f"{MAX_RESIZE_SIDE})", code="E826")

    def with_crop(self, crop_pct: float) -> "Preprocessing":
        return replace(self, crop_pct=crop_pct)

    def to_cfg(self) -> dict:
        """timm's pretrained_cfg fields (input_size is C, H, W there), and spachc's resize_mode."""
        return {"input_size": [self.channels, *self.input_size], "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation, "crop_pct": self.crop_pct, "crop_mode": self.crop_mode,
                "resize_mode": self.resize_mode}

    @classmethod
    def from_cfg(cls, cfg: dict) -> "Preprocessing":
        """From timm's field names; every field of the type it must be (E826), so a crafted file
        is a coded error, never a TypeError."""
        if not isinstance(cfg, dict):
            raise MetadataError(f"preprocessing: must be a JSON object, got {_short(cfg)}", code="E826")
        size = cfg.get("input_size")
        if not (isinstance(size, list) and len(size) == 3 and all(_is_int(v) for v in size)):
            raise MetadataError(f"preprocessing: input_size must be [channels, height, width] (integers), got "
                                f"{_short(size)}", code="E826")
        mean, std = cfg.get("mean"), cfg.get("std")
        if not all(isinstance(v, list) and v and all(_is_number(x) for x in v) for v in (mean, std)):
            raise MetadataError(f"preprocessing: mean and std must be lists of numbers, got {_short(mean)} and "
                                f"{_short(std)}", code="E826")
        crop = cfg.get("crop_pct", DEFAULT_CROP_PCT)
        texts = [cfg.get(k, d) for k, d in (("interpolation", "bicubic"), ("crop_mode", "center"),
                                            ("resize_mode", "shorter_side_round"))]
        if not _is_number(crop) or not all(isinstance(t, str) for t in texts):
            raise MetadataError("preprocessing: crop_pct must be a number and interpolation, crop_mode, resize_mode "
                                "strings", code="E826")
        channels, h, w = size
        return cls((h, w), channels, tuple(float(v) for v in mean), tuple(float(v) for v in std), float(crop),
                   texts[0][:40], texts[1][:40], texts[2][:40])

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

    def check_against(self, input_size, channels: int, classes: int, origin: str) -> "ModelInfo":
        """Recorded preprocessing and labels must fit the spec they travel with: its input size,
        channels and class count (E828, E827). Returns self."""
        pre = self.preprocessing
        if pre.channels != channels or tuple(pre.input_size) != tuple(input_size):
            raise MetadataError(f"{origin}: records preprocessing for {pre.channels}-channel "
                                f"{pre.input_size[0]}x{pre.input_size[1]} input, but its spec takes {channels}-channel "
                                f"{input_size[0]}x{input_size[1]}", code="E828",
                                hint="the record was altered or written for another spec; save the model again from its "
                                     "training run: spachc save RUN DIR")
        if self.labels is not None and len(self.labels) != classes:
            raise MetadataError(f"{origin}: records {len(self.labels)} label names, but its spec has {classes} "
                                "classes", code="E827",
                                hint="give one name per class: spachc save SRC DIR --labels FILE")
        return self


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
        cfg = _json_entry(metadata, PREPROCESSING, origin)
        try:
            return ModelInfo(Preprocessing.from_cfg(cfg), labels)
        except MetadataError as exc:
            raise MetadataError(f"{origin}: {exc.diagnostics[0].message}", code=exc.code) from None
    if LEGACY_EVAL_TRANSFORM in metadata:  # training checkpoints of spachc 0.1 recorded this much
        try:
            old = json.loads(metadata[LEGACY_EVAL_TRANSFORM])
            pre = Preprocessing(tuple(old["size"]), int(old["channels"]), tuple(old["mean"]), tuple(old["std"]),
                                float(old["crop_fraction"]))
        except MetadataError as exc:
            raise MetadataError(f"{origin}: {exc.diagnostics[0].message}", code=exc.code) from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as exc:
            raise MetadataError(f"{origin}: {LEGACY_EVAL_TRANSFORM} cannot be read ({exc!r})") from None
        return ModelInfo(pre, labels)
    pre = default_preprocessing(input_size, channels)
    return ModelInfo(pre, labels, note=missing_note(origin, input_size, channels))


def missing_note(origin: str, input_size, channels: int) -> str:
    """What a file without recorded preprocessing lacks, what stands in, and how to record it."""
    pre = default_preprocessing(input_size, channels)
    mean, std = normalize_entries(pre).values()
    command = f"spachc save {origin} DIR --mean {mean} --std {std}"
    if origin.endswith(".onnx"):
        command = f"spachc save WEIGHTS DIR --mean {mean} --std {std}`, then export DIR`"
    return f"no preprocessing recorded in {origin}: using {pre.describe()}; record it with `{command}`"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value) -> str:
    try:
        return json.dumps(value)[:80]
    except (TypeError, ValueError, RecursionError):
        return type(value).__name__


def _labels(metadata: dict[str, str], origin: str) -> tuple[str, ...] | None:
    if LABELS not in metadata:
        return None
    return checked_labels(_json_entry(metadata, LABELS, origin), f"{origin}: {LABELS}")


def _json_entry(metadata: dict[str, str], key: str, origin: str):
    """A metadata entry that holds JSON, decoded; a coded error when it is not JSON or nests
    beyond what the decoder can take."""
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{origin}: {key} is not JSON ({exc})") from None
    except RecursionError:
        raise MetadataError(f"{origin}: {key} is nested too deeply", code="E825") from None


def checked_labels(labels, origin: str) -> tuple[str, ...]:
    """A list of class names: strings, bounded in count and length (E827)."""
    if (not isinstance(labels, list) or len(labels) > MAX_LABELS
            or not all(isinstance(v, str) and len(v) <= MAX_LABEL_CHARS for v in labels)):
        raise MetadataError(f"{origin} must be a list of strings (at most {MAX_LABELS:,}, each at most "
                            f"{MAX_LABEL_CHARS} characters), got {_short(labels)}", code="E827")
    return tuple(labels)
