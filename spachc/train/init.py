"""`spachc train SPEC --init MODEL`: start a run from trained weights (fine-tuning).

Two steps, each one function:

    read_model_source(MODEL)  -> InitSource: the model's spec, its state_dict, its labels
    plan_init(source, spec)   -> InitPlan: which tensors load, which start afresh, which are left out

MODEL is anything spachc reads as a model: a spachc .safetensors, a model folder (`spachc
save`), a training run folder (its best.safetensors), a training state.pt, or a checkpoint of
the paper's code (.pth). A paper checkpoint carries no spec: `--init-spec SPEC` names its
architecture (a zoo name or a .spach file, e.g. `hybrid_xs` for the official hybrid_xs .pth);
without it the checkpoint is read as the SPEC being trained, with the classes its head has.

Tensors are matched by name and shape. The classifier (`head.*`) starts afresh when the class
count differs, or when the model records class names other than the data's. The input size may
differ where the kinds allow any grid; a grid-tied kind (`mlp`, `smlp`, token-mixing weights
sized by the token count) at another token count is refused (E1021). Any other difference of
architecture is refused with `spachc diff`'s words (E1022), unless `--init-partial` asks to load
what matches and start the rest afresh.

`read_model_source` is the one place that reads a model for --init; it calls today's loaders
(spachc.model_io, spachc.train.run_folder, spachc.nn.upstream).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..diagnostics import Note, SpecError, UserError
from ..lang.frontend import parse
from ..lang.ir import Spec
from ..lang.kinds import KINDS
from ..lang.printer import to_text

HEAD_PREFIX = "head."
MODEL_KINDS = "a spachc .safetensors, a model folder, a training run folder, a state.pt or an official .pth"


class InitError(UserError):
    """--init MODEL that is not a model spachc reads."""

    code = "E1020"


@dataclass(frozen=True)
class InitSource:
    """A model read for --init: its spec, its weights (spachc's names), and its class names
    when it records them."""

    path: str
    kind: str
    spec: Spec
    state: dict[str, torch.Tensor]
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class InitPlan:
    """What --init does to the freshly built model, and what training prints and records."""

    source: InitSource
    weights: dict[str, torch.Tensor]  # target name -> tensor to load
    reset: dict[str, str] = field(default_factory=dict)  # target name -> why it starts afresh
    left_out: tuple[str, ...] = ()  # source tensors nothing takes
    partial: bool = False

    def apply(self, model: torch.nn.Module) -> None:
        """Load the matched tensors; everything else keeps the model's own initialisation."""
        result = model.load_state_dict(self.weights, strict=False)
        unexpected = set(result.unexpected_keys)
        missing = set(result.missing_keys) - set(self.reset)
        if unexpected or missing:  # the plan was made for another module tree: a bug, not a user error
            raise RuntimeError(f"--init plan does not fit the model: missing {sorted(missing)[:5]}, "
                               f"unexpected {sorted(unexpected)[:5]}")

    def lines(self) -> list[str]:
        """What training prints: counts, and the names, compactly."""
        params = sum(t.numel() for t in self.weights.values())
        lines = [f"init from {self.source.path} ({self.source.kind}, spec '{self.source.spec.name}'): "
                 f"loaded {len(self.weights)} tensors ({params:,} parameters)"]
        reasons: dict[str, list[str]] = {}
        for name, why in self.reset.items():
            reasons.setdefault(why, []).append(name)
        for why, names in reasons.items():
            lines.append(f"  re-initialised {len(names)} ({why}): {compact(names)}")
        if not self.reset:
            lines.append("  re-initialised 0")
        lines.append(f"  left out {len(self.left_out)}" + (f": {compact(list(self.left_out))}" if self.left_out
                                                           else ""))
        return lines

    def record(self) -> dict:
        """For run.json and state.pt: where the run started from."""
        return {"source": self.source.path, "kind": self.source.kind, "spec_name": self.source.spec.name,
                "spec_hash": self.source.spec.hash, "partial": self.partial, "loaded": len(self.weights),
                "reset": sorted(self.reset), "left_out": list(self.left_out)}


def compact(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


# --- reading a model -----------------------------------------------------------------------------

def read_model_source(arg: str | Path, init_spec: Spec | None = None, spec: Spec | None = None) -> InitSource:
    """The one reader of --init MODEL, through model_io's one dispatch (kind_of, read).
    `init_spec` is the architecture of an official .pth (--init-spec); without it, `spec` (the
    spec being trained) with the checkpoint's classes."""
    from .. import model_io
    from ..model_io import kinds

    path = Path(arg)
    if not path.exists():
        raise InitError(f"--init {arg}: no such file or folder", hint=f"give {MODEL_KINDS}")
    kind = kinds.kind_of(str(arg))
    carriers = _spec_carriers()
    if kind in carriers:
        loaded = model_io.read(str(arg))
        return InitSource(str(arg), carriers[kind], loaded.spec, loaded.state,
                          loaded.info.labels if loaded.info is not None else None)
    if path.is_dir():
        raise InitError(f"--init {arg}: a folder that is neither a model folder (config.json) nor a training "
                        "run folder (state.pt, best.safetensors)", hint=f"give {MODEL_KINDS}")
    if kind == kinds.CHECKPOINT:
        from .run_folder import is_state_file, read_state, state_spec

        if is_state_file(path):
            saved = read_state(path)
            return InitSource(str(arg), "training state", state_spec(saved), saved["model"])
        return _from_official(str(arg), path, init_spec, spec)
    raise InitError(f"--init {arg}: not a model (expected {MODEL_KINDS})",
                    hint="train one with `spachc train SPEC --out RUN`, then --init RUN")


def _spec_carriers() -> dict[str, str]:
    from ..model_io import kinds

    # model_io's kinds that carry their spec -> the words --init prints
    return {kinds.MODEL_FOLDER: "model folder", kinds.RUN_FOLDER: "training run folder",
            kinds.WEIGHTS_FILE: "spachc weights"}


def _from_official(arg: str, path: Path, init_spec: Spec | None, spec: Spec | None) -> InitSource:
    from ..nn.upstream import UpstreamMismatch, _unwrap, from_upstream, load_official_checkpoint

    checkpoint = _unwrap(load_official_checkpoint(path))
    head = checkpoint.get("head.weight")
    if init_spec is None:
        if spec is None or not isinstance(head, torch.Tensor) or head.ndim != 2:
            raise InitError(f"--init {arg}: an official checkpoint with no head.weight; its spec cannot be inferred",
                            hint="name its architecture: --init-spec ZOO_NAME (e.g. hybrid_xs) or FILE.spach")
        init_spec = parse(to_text(spec), source=f"{spec.name} [classes of {path.name}]",
                          overrides=[f"classes={head.shape[0]}"])
        how = "the spec being trained, with the checkpoint's classes"
    else:
        how = f"--init-spec {init_spec.name}"
    try:
        state = from_upstream(init_spec, checkpoint)
    except UpstreamMismatch as exc:
        raise UpstreamMismatch(f"--init {arg} read as {how}: {exc}",
                               hint="name the checkpoint's own architecture: --init-spec ZOO_NAME or FILE.spach"
                               ) from None
    return InitSource(arg, "official checkpoint", init_spec, state)


# --- matching it to the spec being trained ---------------------------------------------------------

def plan_init(source: InitSource, spec: Spec, labels: tuple[str, ...] | None = None, partial: bool = False,
              retry: str = "spachc train ...") -> InitPlan:
    """Match `source` to `build(spec)` by name and shape. `labels`: the class names of the data
    trained on (a source that records other names gets a fresh head). `retry`: the command as
    typed, for hints."""
    from ..nn.build import skeleton

    _check_grid(source.spec, spec, partial, retry)
    if not partial:
        _check_architecture(source, spec, retry)
    target = {k: (tuple(v.shape), v.is_floating_point()) for k, v in skeleton(spec).state_dict().items()}
    new_labels = labels is not None and source.labels is not None and tuple(source.labels) != tuple(labels)
    weights, reset = {}, {}
    for name, (shape, floating) in target.items():
        tensor = source.state.get(name)
        if name.startswith(HEAD_PREFIX) and (tensor is None or tuple(tensor.shape) != shape):
            reset[name] = f"classes {source.spec.classes} -> {spec.classes}"
        elif name.startswith(HEAD_PREFIX) and new_labels:
            reset[name] = "the data's class names differ from the model's"
        elif tensor is None:
            reset[name] = "not in the model"
        elif tuple(tensor.shape) != shape or tensor.is_floating_point() != floating:
            reset[name] = "another shape"
        else:
            weights[name] = tensor
    left_out = tuple(k for k in source.state if k not in weights)
    return InitPlan(source, weights, reset, left_out, partial)


def _check_grid(source: Spec, spec: Spec, partial: bool, retry: str) -> None:
    """Token-mixing weights sized by the token count cannot move to another grid."""
    if partial:
        return
    for i, (old, new) in enumerate(zip(source.stages, spec.stages)):
        tied = [k for k in old.kinds if KINDS[k].grid_tied]
        if tied and old.grid != new.grid:
            size = shlex.quote(f"input={'x'.join(map(str, source.input))} channels {source.channels}")
            raise UserError(
                f"--init: stage {i + 1} of '{source.name}' has {', '.join(tied)} blocks, whose token-mixing weights "
                f"are sized for its {old.grid[0]}x{old.grid[1]} token grid; at input "
                f"{'x'.join(map(str, spec.input))} the grid is {new.grid[0]}x{new.grid[1]}", code="E1021",
                hint=f"train at the model's input size: {retry} --set {size} (or add --init-partial to start "
                     "those weights afresh)")


def _check_architecture(source: InitSource, spec: Spec, retry: str) -> None:
    """Refuse a model that differs beyond the head (and the input size), in the diff engine's words."""
    from ..lang.diffing import differences

    changes = [line for line in differences(spec, _at_size_and_classes(source.spec, spec))
               if not line.startswith("drop_path")]
    if changes:
        raise UserError(f"--init {source.path}: the model's architecture ('{source.spec.name}') differs from "
                        f"'{spec.name}' beyond the head; what differs (yours -> the model's):", code="E1022",
                        notes=[Note(line) for line in changes[:8]],
                        hint=f"train its own spec, or load what matches by name and shape: {retry} --init-partial")


def _at_size_and_classes(source: Spec, spec: Spec) -> Spec:
    """The source's architecture at the trained spec's input size and classes (what --init may
    change), so that the diff shows only what it may not. Falls back to the source as it is."""
    size = "x".join(map(str, spec.input))
    try:
        return parse(to_text(source), source=f"{source.name} [at {size}]",
                     overrides=[f"input={size} channels {source.channels}", f"classes={spec.classes}"])
    except SpecError:
        return source
