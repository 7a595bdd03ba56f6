"""THE one answer to "what does a MODEL argument stand for", without torch.

    a Spec object               "spec"          an architecture, no weights
    a zoo name (hybrid_xs)      "zoo"           an architecture, no weights
    PATH.spach                  "spach"         an architecture, no weights
    PATH.safetensors            "weights"       a spachc weights file: spec + weights (+ preprocessing, labels)
    DIR with config.json        "model_folder"  `spachc save`: DIR/model.safetensors + config.json
    DIR with state.pt/best.*    "run_folder"    `spachc train --out RUN`: RUN/best.safetensors
    PATH.pt / PATH.pth          "checkpoint"    a spachc state.pt (carries its spec) or an official
                                                .pth of the paper's code (needs a spec beside it)

Every command and the library ask `kind_of`; `weights_path` says which file holds the weights
of a folder.
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import UserError

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
RUN_STATE = "state.pt"  # a training run folder's state (spachc/train/run_folder.py writes it)
RUN_BEST = "best.safetensors"  # ... and its best weights, which the folder stands for
CHECKPOINT_SUFFIXES = (".pth", ".pt")

SPEC, ZOO, SPACH, WEIGHTS_FILE, MODEL_FOLDER, RUN_FOLDER, CHECKPOINT = (
    "spec", "zoo", "spach", "weights", "model_folder", "run_folder", "checkpoint")
CARRIES_SPEC = (WEIGHTS_FILE, MODEL_FOLDER, RUN_FOLDER)  # (and a state.pt, known once it is read)
ARCHITECTURES = (SPEC, ZOO, SPACH)


class ModelSourceError(UserError):
    """A MODEL argument that is none of the kinds above."""

    code = "E820"


def is_model_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG).is_file()


def is_run_folder(path: str | Path) -> bool:
    """A training run folder (`spachc train --out RUN`, spachc/train/run_folder.py): it stands
    for its best weights wherever a model is taken."""
    path = Path(path)
    return (path.is_dir() and not (path / CONFIG).exists()
            and ((path / RUN_STATE).is_file() or (path / RUN_BEST).is_file()))


def kind_of(source) -> str:
    """One of the kinds above; anything else that is not a path is taken as a zoo name or a
    spec file (the front end says which is missing)."""
    from ..lang.ir import Spec

    if isinstance(source, Spec):
        return SPEC
    if not isinstance(source, (str, Path)):
        raise ModelSourceError(f"a model source must be a zoo name, a path or a Spec, not a {type(source).__name__}",
                               hint="e.g. spachc.create_model('hybrid_xs') or spachc.create_model('runs/x')")
    text = str(source)
    if is_model_folder(text):
        return MODEL_FOLDER
    if is_run_folder(text):
        return RUN_FOLDER
    if text.endswith(".safetensors"):
        return WEIGHTS_FILE
    if text.endswith(CHECKPOINT_SUFFIXES):
        return CHECKPOINT
    if text.endswith(".spach") or "/" in text or Path(text).exists():
        return SPACH
    return ZOO


def refuse_plain_folder(source) -> None:
    """The library's word for a folder that is no model (commands let the front end say E004)."""
    if isinstance(source, (str, Path)) and Path(source).is_dir() and kind_of(source) == SPACH:
        raise ModelSourceError(f"{source}: a folder that is neither a model folder (no {CONFIG}) nor a training run "
                               f"(no {RUN_STATE} or {RUN_BEST})",
                               hint=f"write a model folder with `spachc save SRC {source}`, or pass a spec, weights "
                                    "file or run folder")


def carries_spec(source) -> bool:
    """A weights file, a model or run folder, or an existing .pt (a state.pt carries its spec):
    the sources whose spec `--set` may not change."""
    kind = kind_of(source)
    return kind in CARRIES_SPEC or (kind == CHECKPOINT and str(source).endswith(".pt") and Path(source).is_file())


def refuse_overrides(source, overrides) -> None:
    """THE E602 check: `--set` cannot change the spec stored with trained weights."""
    if overrides and carries_spec(source):
        raise UserError(f"{source}: --set cannot change the spec stored with trained weights", code="E602",
                        hint="write the spec out (spachc build SRC --json, or inspect), edit it, and use that")


def weights_path(path: str | Path) -> Path:
    """The weights file a model argument stands for: DIR/model.safetensors for a model folder,
    RUN/best.safetensors for a training run folder, the path itself otherwise."""
    path = Path(path)
    if is_model_folder(path):
        return path / WEIGHTS
    if is_run_folder(path):
        if not (path / RUN_BEST).is_file():
            raise ModelSourceError(f"{path}: a training run with no finished epoch yet (no {RUN_BEST})", code="E811",
                                   hint=f"let it finish an epoch, or continue it: spachc train --resume --out {path}")
        return path / RUN_BEST
    return path


model_file = weights_path  # the name the commands have used
