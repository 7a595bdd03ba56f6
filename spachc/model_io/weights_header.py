"""The header of a spachc weights file: its metadata, the spec it carries and its alias table,
read without torch (so `diff`, `graph` and `inspect` take weights files and run folders as
fast as specs). The tensors are spachc/model_io/tensors.py's business."""

from __future__ import annotations

import json
from pathlib import Path

from ..diagnostics import SpecError, UserError
from ..lang.frontend import parse
from ..lang.ir import Spec
from .kinds import model_file
from .header import Header, SafetensorsFileError, read_header
from .metadata import ALIASES, SPEC, SPEC_HASH

MAX_SPEC_CHARS = 1 << 20  # a spec text beyond 1 MiB is no spec spachc wrote


class WeightsError(UserError):
    """A weights file that cannot be used, named with the reason."""

    code = "E812"


def spec_from_text(text: object, recorded_hash: object, origin: str, error=WeightsError, code: str = "E814") -> Spec:
    """THE check of a spec stored with weights (a weights file's metadata, a model folder's
    config.json): a string, valid, and hashing to the recorded hash when one is recorded."""
    if not isinstance(text, str) or len(text) > MAX_SPEC_CHARS:
        raise error(f"{origin}: the spec must be a string of at most {MAX_SPEC_CHARS:,} characters, got "
                    f"{type(text).__name__}" + (f" of {len(text):,}" if isinstance(text, str) else ""), code="E829")
    try:
        spec = parse(text, source=origin)
    except SpecError as exc:
        raise error(f"{origin}: its embedded spec is invalid:\n{exc}", code=code) from None
    if recorded_hash is not None and recorded_hash != spec.hash:
        raise error(f"{origin}: spec_hash {str(recorded_hash)[:12]} does not match its spec text ({spec.hash[:12]}); "
                    "the file was altered", code=code)
    return spec


def read_weights_header(path: str | Path) -> Header:
    """The checked header (a model folder or a training run folder stands for its weights file)."""
    path = model_file(path)
    try:
        return read_header(path)
    except SafetensorsFileError as exc:
        raise WeightsError(exc.diagnostics[0].message, code=exc.code) from None
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read it ({exc.strerror})") from None


def read_metadata(path: str | Path) -> dict[str, str]:
    """The file's metadata, after checking that the file is whole (not truncated)."""
    return read_weights_header(path).metadata


def weights_spec(path: str | Path) -> Spec:
    """The spec a spachc weights file carries, checked against its recorded hash."""
    return weights_header(path)[0]


def weights_header(path: str | Path) -> tuple[Spec, dict[str, str]]:
    """(the spec a spachc weights file carries, checked against its recorded hash; its metadata),
    from one read of the header."""
    path = model_file(path)
    metadata = read_metadata(path)
    return metadata_spec(metadata, path), metadata


def metadata_spec(metadata: dict[str, str], path) -> Spec:
    if SPEC not in metadata:
        raise WeightsError(f"{path}: carries no spachc spec (was it written by spachc?)", code="E813")
    return spec_from_text(metadata[SPEC], metadata.get(SPEC_HASH), f"{path}[{SPEC}]")


def aliases(metadata: dict[str, str], path) -> dict[str, str]:
    """The alias table (a shared tensor's other names -> its stored name): a JSON object of
    names, or a coded error (E824)."""
    text = metadata.get(ALIASES, "{}")
    try:
        table = json.loads(text)
    except json.JSONDecodeError:
        table = None
    except RecursionError:
        raise WeightsError(f"{path}: {ALIASES} is nested too deeply", code="E825") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise WeightsError(f"{path}: {ALIASES} must be a JSON object mapping tensor names to stored names",
                           code="E824")
    return table
