"""What an exported file holds, read without torch: spec, hash, tensors or graph, opset.

Both readers return plain dicts (the `--json` output); the command renders them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..diagnostics import SpecError, UserError
from ..lang.frontend import parse
from ..model_io.header import SafetensorsFileError, read_header
from ..model_io.metadata import ALIASES, SPEC as SPEC_KEY, SPEC_HASH as HASH_KEY
from ..model_io.weights_header import WeightsError, aliases


class InspectError(UserError):
    """A file that cannot be inspected; the message names it and says why."""

    code = "E812"


def embedded_spec(path: Path, metadata: dict[str, str]) -> dict:
    """The spec text a file carries, and whether its recorded hash still matches it."""
    text = metadata.get(SPEC_KEY)
    if text is None:
        return {"text": None, "name": None, "hash": metadata.get(HASH_KEY), "hash_matches": None}
    try:
        spec = parse(text, source=f"{path}[{SPEC_KEY}]")
    except SpecError as exc:
        return {"text": text, "name": None, "hash": metadata.get(HASH_KEY), "hash_matches": False,
                "error": str(exc)}
    recorded = metadata.get(HASH_KEY)
    return {"text": text, "name": spec.name, "hash": recorded or spec.hash,
            "hash_matches": recorded is None or recorded == spec.hash}


def describe_safetensors(path: str | Path) -> dict:
    path = Path(path)
    try:
        header = read_header(path)
    except SafetensorsFileError as exc:
        raise InspectError(str(exc), code=exc.code) from None
    metadata = dict(header.metadata)
    try:  # the loaders' own reader of the alias table, so a bad one is the same coded error
        shared = aliases(metadata, path)
    except WeightsError as exc:
        raise InspectError(str(exc), code=exc.code) from None
    metadata.pop(ALIASES, None)
    spec = embedded_spec(path, metadata)
    metadata.pop(SPEC_KEY, None)
    tensors = [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "numel": t.numel}
               for t in sorted(header.tensors, key=lambda t: t.name)]
    return {
        "format": "safetensors", "path": str(path), "bytes": header.file_size, "spec": spec,
        "metadata": metadata, "tensors": tensors, "stored_elements": sum(t["numel"] for t in tensors),
        "shared": shared,
    }


def describe_onnx(path: str | Path) -> dict:
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    if not path.is_file():
        raise InspectError(f"{path}: no such file", code="E811")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise InspectError(f"{path}: not a readable ONNX file ({exc})") from None
    metadata = {p.key: p.value for p in model.metadata_props}
    spec = embedded_spec(path, metadata)
    metadata.pop(SPEC_KEY, None)
    graph = model.graph
    initialisers = list(graph.initializer)
    external = sorted({e.value for t in initialisers for e in t.external_data if e.key == "location"})
    return {
        "format": "onnx", "path": str(path), "bytes": path.stat().st_size, "spec": spec, "metadata": metadata,
        "ir_version": model.ir_version, "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opsets": {op.domain or "ai.onnx": op.version for op in model.opset_import},
        "inputs": [_value_info(v) for v in graph.input],
        "outputs": [_value_info(v) for v in graph.output],
        "nodes": len(graph.node), "ops": dict(Counter(n.op_type for n in graph.node).most_common()),
        "initializers": len(initialisers), "parameters": sum(_numel(t.dims) for t in initialisers),
        "external_data": external,
    }


def _value_info(value) -> dict:
    import onnx

    tensor = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
            for d in tensor.shape.dim]
    return {"name": value.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name, "shape": dims}


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def describe_folder(path: str | Path) -> dict:
    """A model folder: its model.safetensors described, with the folder's config.json beside."""
    from ..model_io.folder import FolderError, model_file, read_config

    try:
        config = read_config(path)
    except FolderError as exc:
        raise InspectError(str(exc), code=exc.code if exc.code == "E825" else None) from None
    info = describe_safetensors(model_file(path))
    info["folder"] = {"path": str(path), "config": config}
    return info


def describe(path: str | Path) -> dict:
    """Dispatch on the file's extension: .safetensors or .onnx; or a model or training run folder."""
    from ..model_io.folder import is_run_folder, model_file

    if is_run_folder(path):  # a training run stands for its best weights
        return describe_safetensors(model_file(path))
    if Path(path).is_dir():
        return describe_folder(path)
    suffix = Path(path).suffix
    if suffix == ".safetensors":
        return describe_safetensors(path)
    if suffix == ".onnx":
        return describe_onnx(path)
    raise InspectError(f"{path}: cannot inspect a '{suffix or 'extensionless'}' file; expected .safetensors or .onnx")
