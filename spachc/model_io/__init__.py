"""Models on disk: the one package that reads and writes them. Torch-free unless noted.

    kinds.py          THE dispatch: what a MODEL argument is (zoo name, .spach, Spec, weights file,
                      model folder, run folder, state.pt / official .pth)
    header.py         a safetensors header, checked field by field without torch
    weights_header.py the spec, metadata and alias table a spachc weights file carries
    integrity.py      the checksum (scheme 1: tensors; scheme 2: tensors and metadata), streamed
    metadata.py       every metadata key; recorded preprocessing and labels, validated
    folder.py         model folders: config.json, validated against its spec
    tensors.py        (torch) weights files: write; read after checking the header against the spec
    sources.py        (torch on use) weights for a spec: .safetensors, state.pt, official .pth
    create.py         (torch) create_model, read -> LoadedModel, save, and the one build-then-load
    export_source.py  (torch) what export and `spachc save` write out
    arguments.py      a command's SPEC argument or `-e TEXT`

For other code: `read(source) -> LoadedModel(spec, state, info, kind, path, described)`,
`kind_of(source)`, `spec_of(source)` (no torch), `create_model(...)`, `save(model, dir, ...)`.
"""

from __future__ import annotations

from .folder import spec_of  # noqa: F401
from .kinds import kind_of, model_file  # noqa: F401


def read(source, overrides=()):
    """Any MODEL argument -> LoadedModel (imports torch); see create.read."""
    from .create import read as _read

    return _read(source, overrides)


def create_model(source, **kwargs):
    from .create import create_model as _create_model

    return _create_model(source, **kwargs)


def save(model, folder, labels=None, preprocessing=None, **kwargs):
    from .create import save as _save

    return _save(model, folder, labels, preprocessing, **kwargs)
