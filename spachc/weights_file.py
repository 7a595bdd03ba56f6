"""The header of a spachc weights file: its metadata and the spec it carries, read without
torch (so `diff`, `graph` and `inspect` take weights files and run folders as fast as specs).
The tensors are spachc/nn/weights.py's business."""

from __future__ import annotations

from pathlib import Path

from .export.safetensors_header import SafetensorsFileError, read_header
from .folder import model_file
from .lang.diagnostics import SpecError, UserError
from .lang.frontend import parse
from .lang.ir import Spec
from .metadata import SPEC, SPEC_HASH


class WeightsError(UserError):
    """A weights file that cannot be used, named with the reason."""

    code = "E812"


def read_metadata(path: str | Path) -> dict[str, str]:
    """The file's metadata, after checking that the file is whole (not truncated). A model
    folder or a training run folder stands for its weights file."""
    path = model_file(path)
    try:
        return read_header(path).metadata
    except SafetensorsFileError as exc:
        raise WeightsError(str(exc), code=exc.code) from None
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read it ({exc.strerror})") from None


def weights_spec(path: str | Path) -> Spec:
    """The spec a spachc weights file carries, checked against its recorded hash."""
    return weights_header(path)[0]


def weights_header(path: str | Path) -> tuple[Spec, dict[str, str]]:
    """(the spec a spachc weights file carries, checked against its recorded hash; its metadata),
    from one read of the header."""
    path = model_file(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file", code="E811")
    metadata = read_metadata(path)
    if SPEC not in metadata:
        raise WeightsError(f"{path}: carries no spachc spec (was it written by spachc?)", code="E813")
    try:
        spec = parse(metadata[SPEC], source=f"{path}[{SPEC}]")
    except SpecError as exc:
        raise WeightsError(f"{path}: its embedded spec is invalid:\n{exc}", code="E814") from None
    if metadata.get(SPEC_HASH) not in (None, spec.hash):
        raise WeightsError(f"{path}: embedded spec hash {metadata[SPEC_HASH][:12]} does not match its "
                           f"spec text ({spec.hash[:12]}); the file was altered", code="E814")
    return spec, metadata
