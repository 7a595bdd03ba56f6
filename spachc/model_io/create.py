"""`spachc.create_model` and `spachc.save`: the library's one way in and one way out.

    create_model(source, *, pretrained=None, num_classes=None, features_only=False,
                 out_indices=None, overrides=())

`source` is any MODEL argument (spachc/model_io/kinds.py); `pretrained` a weights source
loaded into the architecture of `source` (None/True: the weights `source` carries, if any;
False: none). `num_classes` other than the spec's gives the spec with `classes` overridden
(its own hash) and every weight but the classifier loaded; 0 gives pooled features (the head
is Identity). "Build, then load_state_dict" is written here once (`build_loaded`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..diagnostics import UserError
from ..lang.ir import Spec
from . import kinds
from .metadata import ModelInfo, Preprocessing, checked_labels, default_preprocessing
from .sources import load_weights_for, other_spec, spec_and_weights

HEAD = ("head.weight", "head.bias")  # the classifier: re-initialised when the class count changes
OWN_SPEC_COMMAND = "spachc.create_model('{path}')"


class CreateModelError(UserError):
    """A create_model / save argument that cannot be honoured."""

    code = "E822"


@dataclass
class LoadedModel:
    """What a MODEL argument holds: its spec, its weights (a state_dict for build(spec), or
    None), the preprocessing and labels recorded with them, its kind and where it came from."""

    spec: Spec
    state: dict[str, torch.Tensor] | None
    info: ModelInfo | None
    kind: str
    path: Path | None
    described: str


def read(source, overrides=()) -> LoadedModel:
    """Any MODEL argument -> LoadedModel. An official .pth has no spec: give it as `pretrained`
    with a spec as source."""
    from .folder import model_info

    kinds.refuse_plain_folder(source)
    kind = kinds.kind_of(source)
    if kind == kinds.SPEC:
        spec = overridden(source, overrides) if overrides else source
        return LoadedModel(spec, None, None, kind, None, "initialisation")
    if kind == kinds.CHECKPOINT and not kinds.carries_spec(source):
        if not Path(source).is_file():
            raise kinds.ModelSourceError(f"{source}: no such checkpoint", code="E811")
        raise kinds.ModelSourceError(f"{source}: an official checkpoint of the paper's code carries no spec",
                                     hint=f"give its spec as the source: spachc.create_model('hybrid_s', "
                                          f"pretrained='{source}')")
    spec, state = spec_and_weights(str(source), list(overrides))
    path = Path(str(source)) if kind != kinds.ZOO else None
    info = None
    if state is not None and kind != kinds.CHECKPOINT:
        info = model_info(path, spec)
    described = f"spachc weights {kinds.model_file(path)}" if state is not None else "initialisation"
    return LoadedModel(spec, state, info, kind, path, described)


def overridden(spec: Spec, overrides) -> Spec:
    """The spec with --set style overrides applied (lang/overrides.py): its own hash."""
    from ..lang.frontend import parse
    from ..lang.printer import to_text

    return parse(to_text(spec), source=spec.name, overrides=list(overrides))


def with_classes(spec: Spec, classes: int) -> Spec:
    return spec if classes == spec.classes else overridden(spec, [f"classes={classes}"])


def build_loaded(spec: Spec, state: dict | None, *, features_only: bool = False, out_indices=None,
                 device=None, max_params: int | None = None, skip: tuple[str, ...] = ()) -> torch.nn.Module:
    """THE "build, then load_state_dict": every name of build(spec) must be in `state`,
    except the names in `skip` (a re-initialised classifier), which keep their initialisation."""
    from ..nn.build import build

    kwargs = {"max_params": max_params} if max_params is not None else {}
    model = build(spec, device=device, features_only=features_only, out_indices=out_indices, **kwargs)
    if state is None:
        return model
    if features_only:
        model.load_classifier_state(state)
        return model
    if skip:
        state = {k: v for k, v in state.items() if k not in skip}
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= set(skip), (missing, unexpected)
    else:
        model.load_state_dict(state, strict=True)
    return model


def create_model(source, *, pretrained=None, num_classes: int | None = None, features_only: bool = False,
                 out_indices=None, overrides=(), device=None, max_params: int | None = None,
                 global_pool: str | None = None) -> torch.nn.Module:
    """A module from any model source (see the module docstring). Modules built from weights
    that record preprocessing and labels carry them as `.model_info` and `.pretrained_cfg`.
    `global_pool` is timm's (`reset_classifier`): 'avg' (the default) or '' for unpooled maps."""
    if num_classes is not None:
        from ..nn.contract import check_num_classes

        check_num_classes(num_classes)  # timm's rule, E1230 (one check for build, create_model, reset_classifier)
    loaded = read(source, overrides)
    spec, state, info = loaded.spec, loaded.state, loaded.info
    if pretrained is False:
        state, info = None, None
    elif pretrained not in (None, True):
        if not isinstance(pretrained, (str, Path)):
            raise CreateModelError(f"pretrained must be a path, True, False or None, not {type(pretrained).__name__}")
        state, info = _pretrained_state(spec, Path(pretrained), num_classes)
    elif pretrained is True and state is None:
        raise CreateModelError(f"{source} carries no weights; pretrained=True has nothing to load",
                               hint="give the weights: create_model(SPEC, pretrained='PATH')")
    target = spec if num_classes in (None, 0) else with_classes(spec, num_classes)
    skip = HEAD if target.hash != spec.hash or (state is not None and HEAD[0] not in state) else ()
    if skip and info is not None:
        info = ModelInfo(info.preprocessing, None, info.note)  # the old class names name nothing now
    model = build_loaded(target, state, features_only=features_only, out_indices=out_indices, device=device,
                         max_params=max_params, skip=skip)
    if info is not None:
        attach_info(model, target, info)
    if global_pool is not None:
        from ..nn.contract import check_global_pool

        check_global_pool(global_pool)
        if not features_only:  # (the features model has no pooling to choose)
            model.global_pool = global_pool  # the loaded head is kept: '' gives logits at every position
    if num_classes == 0 and not features_only:
        model.reset_classifier(0)  # timm's contract: pooled features (the head's labels are dropped too)
    return model


def _pretrained_state(spec: Spec, path: Path, num_classes: int | None):
    """Weights of `path` for `spec`'s architecture; with `num_classes`, weights whose spec
    differs from `spec` in the class count only are taken too (their head is not)."""
    from .folder import model_info
    from .tensors import load_weights

    if kinds.kind_of(path) in kinds.CARRIES_SPEC and num_classes is not None:
        stored, state = load_weights(path)
        if with_classes(stored, num_classes).hash != with_classes(spec, num_classes).hash:
            raise other_spec(path, stored, spec, OWN_SPEC_COMMAND, code="E821")
        if stored.classes != spec.classes:  # its classifier fits no head of ours: build_loaded initialises it
            state = {k: v for k, v in state.items() if k not in HEAD}
        return state, model_info(path, stored)
    try:
        state, _ = load_weights_for(spec, path, own_spec_command=OWN_SPEC_COMMAND)
    except UserError as exc:
        if exc.code == "E1013":
            raise type(exc)(exc.diagnostics[0].message, code="E821", hint=exc.hint,
                            notes=exc.diagnostics[0].notes) from None
        raise
    info = model_info(path, spec) if kinds.kind_of(path) in kinds.CARRIES_SPEC else None
    return state, info


def attach_info(model: torch.nn.Module, spec: Spec, info: ModelInfo) -> None:
    model.model_info = info
    model.pretrained_cfg = {**info.preprocessing.to_cfg(), "num_classes": spec.classes,
                            **({"label_names": list(info.labels)} if info.labels else {})}


def from_pretrained(path, features_only: bool = False, out_indices=None, device="cpu", **kwargs):
    """A model folder (or any source carrying weights) -> its module in eval mode, with
    `.pretrained_cfg` (timm's field names) and `.model_info` attached."""
    from .folder import folder_spec
    from .tensors import WeightsError

    if kinds.kind_of(path) == kinds.MODEL_FOLDER:
        spec = folder_spec(path)
        stored = kinds.model_file(path)
        from .weights_header import weights_spec

        held = weights_spec(stored)
        if spec.hash != held.hash:
            raise WeightsError(f"{path}: {kinds.CONFIG} describes spec {spec.hash[:12]} but {kinds.WEIGHTS} holds "
                               f"weights of {held.hash[:12]}", code="E1211")
    return create_model(path, features_only=features_only, out_indices=out_indices, device=device, **kwargs).eval()


# --- save --------------------------------------------------------------------------------------

def save(model: torch.nn.Module, folder, labels=None, preprocessing=None, *, spec: Spec | None = None,
         weights: str = "spachc.save") -> Path:
    """Write a model folder (config.json + model.safetensors) for `model`: its spec (`model.spec`,
    or `spec=`), weights, and the labels and preprocessing predict and eval will use.

    `labels`: a list of class names (one per class). `preprocessing`: a metadata.Preprocessing,
    a dict of timm's pretrained_cfg fields, or None for what the model carries (`.model_info`)
    or else the defaults (with a note saying so on the returned folder's config)."""
    spec = spec or getattr(model, "spec", None)
    if not isinstance(spec, Spec):
        raise CreateModelError("save: the model carries no spec (give spec=...)")
    if hasattr(model, "load_classifier_state") or not hasattr(model, "head") or isinstance(model.head,
                                                                                          torch.nn.Identity):
        raise CreateModelError("save: a model folder holds a whole classifier; this module has no head",
                               hint="save the classifier, then load it with features_only=True or num_classes=0")
    carried = getattr(model, "model_info", None)
    if preprocessing is None:
        pre = carried.preprocessing if carried is not None else default_preprocessing(spec.input, spec.channels)
    elif isinstance(preprocessing, Preprocessing):
        pre = preprocessing
    else:
        from .metadata import MetadataError

        try:
            pre = Preprocessing.from_cfg({"input_size": [spec.channels, *spec.input], **dict(preprocessing)})
        except (MetadataError, TypeError, ValueError) as exc:
            raise CreateModelError(f"save: preprocessing: {getattr(exc, 'diagnostics', [exc])[0]}",
                                   code="E826") from None
    if labels is None and carried is not None:
        labels = carried.labels
    if labels is not None:
        labels = checked_labels(list(labels) if not isinstance(labels, str) else labels, "save: labels")
    info = ModelInfo(pre, labels).check_against(spec.input, spec.channels, spec.classes, "save")
    return write_folder(model, spec, folder, info, weights)


def write_folder(model, spec: Spec, folder, info: ModelInfo, weights: str) -> Path:
    """Write DIR/model.safetensors then DIR/config.json (each atomically; the config last, so a
    folder with a config always has its weights)."""
    import json

    from .folder import FolderError, config_dict
    from .tensors import save_weights, write_atomically
    from .metadata import WEIGHTS, model_info_entries

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"{folder}: exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model, spec, folder / kinds.WEIGHTS, extra={**model_info_entries(info), WEIGHTS: weights})
    text = json.dumps(config_dict(spec, info, weights), indent=2) + "\n"
    write_atomically(folder / kinds.CONFIG, text.encode())
    return folder
