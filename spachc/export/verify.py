"""Does an exported file compute what the PyTorch module computes?

ONNX: `onnx.checker` with the full check (shape inference included), then onnxruntime's CPU
provider on fresh random inputs at two batch sizes (and two input sizes when the size is
dynamic), against the module run by PyTorch. fp32 must agree to 1e-4 (max |Δ| over all
logits). fp16 cannot: the two runtimes round differently. There the export must be as
accurate as PyTorch itself in fp16: measured against the fp32 module, its error may be at
most twice PyTorch-fp16's own error plus 1e-4. safetensors: the file alone is reloaded with
`load_model` and must reproduce the module (as rounded to the stored dtype) to 1e-4.

A backbone graph (`export --features`) is compared on every feature map. A classifier whose
head is still zero gives logits of 0 whatever its graph computes, so there the graph is also
run with a random probe head (see `probe_head`): verification is never vacuous.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..diagnostics import UserError
from ..diagnostics.codes import E905, E910
from ..lang.frontend import parse
from ..lang.ir import Spec
from ..lang.printer import to_text
from ..runtime.precision import torch_dtype
from .onnx_export import OnnxOptions

FP32_TOLERANCE = 1e-4
FP16_ERROR_RATIO = 2.0
SECOND_BATCH = 3
BF16_UNVERIFIABLE = ("a bf16 ONNX graph cannot be verified here: onnxruntime's CPU provider has no bf16 "
                     "kernels (Conv, LayerNormalization); export fp16 or fp32, or pass --no-verify to "
                     "write it unverified")


class VerificationError(UserError):
    """The exported file does not reproduce the module; the message says what differed."""

    code = E910


@dataclass(frozen=True)
class Case:
    """One comparison: an input shape, the runtime's max |Δ| and the bound it had to meet."""
    shape: tuple[int, ...]
    max_abs_diff: float
    tolerance: float
    max_abs_logit: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.max_abs_diff <= self.tolerance)

    def describe(self) -> str:
        b, _, h, w = self.shape
        verdict = "ok" if self.ok else "FAILED"
        return (f"batch {b} @{h}x{w}: max|Δ| {self.max_abs_diff:.2e}{self.note} (limit {self.tolerance:.1e}, "
                f"max|logit| {self.max_abs_logit:.3g})  {verdict}")


@dataclass
class Report:
    what: str
    cases: list[Case] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases)

    def raise_if_failed(self) -> None:
        failed = [c for c in self.cases if not c.ok]
        if failed:
            raise VerificationError(f"{self.what}: verification failed; outputs differ:\n  "
                                    + "\n  ".join(c.describe() for c in failed))


def check_onnx_file(path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise VerificationError(f"{path}: onnx.checker rejected the graph: {exc}") from None


def verification_sizes(spec: Spec, dynamic_size: bool) -> list[tuple[int, int]]:
    """The spec's size, and for a dynamic graph a second, non-square one the grid allows."""
    if not dynamic_size:
        return [spec.input]
    step = spec.stem.patch * 2 ** (len(spec.stages) - 1)
    return [spec.input, (spec.input[0] + step, spec.input[1] + 2 * step)]


def module_at_size(model: torch.nn.Module, spec: Spec, size: tuple[int, int]) -> torch.nn.Module:
    """The same weights in a module built for `size`: an independent reference for a dynamic graph."""
    if size == spec.input:
        return model
    from ..nn.build import build

    resized = parse(to_text(spec), source=spec.name, overrides=[f"input={size[0]}x{size[1]} channels {spec.channels}"])
    other = build(resized)
    other.load_state_dict(model.state_dict())
    return other.to(next(model.parameters()).dtype).eval()


def onnx_session(path: Path, threads: int | None = None):
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    options = ort.SessionOptions()
    # Idle threads sleep instead of spinning, so they take no CPU from PyTorch runs in between.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except (ort_errors.Fail, ort_errors.InvalidGraph, ort_errors.NotImplemented, ort_errors.InvalidArgument) as exc:
        raise VerificationError(f"{path}: onnxruntime (CPU) cannot load the graph: {exc}") from None


def verify_onnx(path: str | Path, model: torch.nn.Module, spec: Spec, options: OnnxOptions, seed: int = 0) -> Report:
    """Checker, then onnxruntime vs PyTorch on random inputs; figures in the report."""
    path = Path(path)
    if options.dtype == "bf16":
        raise VerificationError(BF16_UNVERIFIABLE, code=E905)
    check_onnx_file(path)
    session = onnx_session(path)
    dtype = torch_dtype(options.dtype)
    model = model.eval()
    reduced = copy.deepcopy(model).to(dtype).eval() if dtype != torch.float32 else model
    batches = [options.batch] if options.batch is not None else [1, SECOND_BATCH]
    generator = torch.Generator().manual_seed(seed)
    report = Report(str(path), notes=[f"onnx.checker (full check): ok; onnxruntime CPU, {options.dtype}"])
    backbone = hasattr(model, "out_indices")  # a features_only model: every map is compared
    for size in verification_sizes(spec, options.dynamic_size):
        reference = model if backbone else module_at_size(model, spec, size)
        reference_reduced = reduced if backbone else (
            module_at_size(reduced, spec, size) if reduced is not model else reference)
        for batch in batches:
            images = torch.randn(batch, spec.channels, *size, generator=generator)
            report.cases.append(_compare(session, images, reference, reference_reduced, dtype))
    if options.batch is not None:
        report.notes.append(f"the batch is fixed at {options.batch}: verified at that batch only")
    if not backbone and all(c.max_abs_logit == 0 for c in report.cases):
        probe_head(path, model, spec, options, report, generator)
    note_if_vacuous(report)
    return report


PROBE_WEIGHT = "head.weight"


def probe_head(path: Path, model: torch.nn.Module, spec: Spec, options: OnnxOptions, report: Report,
               generator: torch.Generator) -> None:
    """A zero head makes every logit 0 whatever the graph computes before it. So the file's own
    graph is run again with a random head weight put in place of its zero initialiser (in
    memory; the file is not changed), against the module with the same head: a check of the
    pre-head features that can fail."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    found = [t for t in proto.graph.initializer if t.name == PROBE_WEIGHT]
    if len(found) != 1 or tuple(found[0].dims) != tuple(model.head.weight.shape):
        report.notes.append(f"no '{PROBE_WEIGHT}' initialiser of the head's shape in the graph: the pre-head "
                            "features could not be probed")
        return
    probe = copy.deepcopy(model).eval()
    with torch.no_grad():
        # Scaled like a Linear layer's default init (std 1/sqrt(fan_in)): logits of the size of
        # the features, so the absolute fp32 limit stays meaningful (std 1 gave |logits| ~60-80 and
        # rounding differences near the limit on hybrid_xs).
        fan_in = probe.head.weight.shape[1]
        probe.head.weight.copy_(torch.randn(probe.head.weight.shape, generator=generator) / fan_in ** 0.5)
    stored = numpy_helper.to_array(found[0])
    found[0].CopyFrom(numpy_helper.from_array(probe.head.weight.detach().numpy().astype(stored.dtype), PROBE_WEIGHT))
    session = onnx_session_from_bytes(proto.SerializeToString())
    dtype = torch_dtype(options.dtype)
    reduced = copy.deepcopy(probe).to(dtype).eval() if dtype != torch.float32 else probe
    batches = [options.batch] if options.batch is not None else [1, SECOND_BATCH]
    for size in verification_sizes(spec, options.dynamic_size):
        reference = module_at_size(probe, spec, size)
        reference_reduced = module_at_size(reduced, spec, size) if reduced is not probe else reference
        for batch in batches:
            images = torch.randn(batch, spec.channels, *size, generator=generator)
            case = _compare(session, images, reference, reference_reduced, dtype)
            report.cases.append(replace(case, note=case.note + " [random probe head: pre-head features]"))
    report.notes.append("the head is zero (untrained): the graph was also run with a random probe head in "
                        "place of its zero weight, so the pre-head features are verified")


def onnx_session_from_bytes(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def note_if_vacuous(report: Report) -> None:
    if all(c.max_abs_logit == 0 for c in report.cases):
        report.notes.append("every logit is 0 (the classifier head is at its zero initialisation): "
                            "these figures cannot show a difference; export trained weights to verify them")


def _flat(outputs) -> np.ndarray:
    """One output, or all feature maps of a backbone, as one float64 vector per batch."""
    if isinstance(outputs, torch.Tensor):
        return outputs.double().numpy()
    if isinstance(outputs, (list, tuple)) and outputs and isinstance(outputs[0], torch.Tensor):
        return np.concatenate([o.double().reshape(o.shape[0], -1).numpy() for o in outputs], axis=1)
    return np.concatenate([np.asarray(o, dtype=np.float64).reshape(o.shape[0], -1) for o in outputs], axis=1)


def onnxruntime_errors() -> tuple[type[Exception], ...]:
    """What onnxruntime raises when a session cannot run an input (a wrong shape, a kernel failing)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return tuple(getattr(state, name) for name in ("InvalidArgument", "Fail", "RuntimeException", "NotImplemented"))


def _compare(session, images: torch.Tensor, reference: torch.nn.Module, reduced: torch.nn.Module,
             dtype: torch.dtype) -> Case:
    with torch.no_grad():
        expected32 = _flat(reference(images))
        expected = _flat(reduced(images.to(dtype))) if reduced is not reference else expected32
    shape = tuple(images.shape)
    try:
        outputs = session.run(None, {"images": images.to(dtype).numpy()})
    except onnxruntime_errors() as exc:  # e.g. a graph whose size axes were pinned: a failed check, not a crash
        reason = str(exc).split("\n")[0].split(" : ")[-1].strip()
        return Case(shape, float("inf"), FP32_TOLERANCE, 0.0, f" (onnxruntime cannot run it: {reason})")
    got = _flat(outputs)
    if got.shape != expected.shape:
        return Case(shape, float("inf"), 0.0, 0.0, f" (shape {got.shape}, expected {expected.shape})")
    scale = float(np.abs(expected32).max(initial=0.0))
    if dtype == torch.float32:
        return Case(shape, float(np.abs(got - expected).max(initial=0.0)), FP32_TOLERANCE, scale)
    torch_error = float(np.abs(expected - expected32).max(initial=0.0))
    onnx_error = float(np.abs(got - expected32).max(initial=0.0))
    direct = float(np.abs(got - expected).max(initial=0.0))
    name = str(dtype).removeprefix("torch.")
    note = f" against PyTorch fp32 [PyTorch {name}: {torch_error:.2e}; ONNX vs PyTorch {name}: {direct:.2e}]"
    return Case(shape, onnx_error, FP16_ERROR_RATIO * torch_error + FP32_TOLERANCE, scale, note)


def verify_safetensors(path: str | Path, model: torch.nn.Module, spec: Spec, dtype: str, seed: int = 0) -> Report:
    """Rebuild from the file alone and compare with the module, as rounded to the stored dtype."""
    from ..model_io.create import create_model as load_model

    path = Path(path)
    reloaded = load_model(path).eval()
    expected_model = model.eval()
    if dtype != "fp32":
        expected_model = copy.deepcopy(model).to(torch_dtype(dtype)).float().eval()
    generator = torch.Generator().manual_seed(seed)
    report = Report(str(path), notes=[f"rebuilt from the file alone (spec {spec.hash[:12]}, {dtype})"])
    for batch in (1, SECOND_BATCH):
        images = torch.randn(batch, spec.channels, *spec.input, generator=generator)
        with torch.no_grad():
            expected, got = expected_model(images), reloaded(images)
        report.cases.append(Case(tuple(images.shape), float((got - expected).abs().max()), FP32_TOLERANCE,
                                 float(expected.abs().max())))
    note_if_vacuous(report)
    return report
