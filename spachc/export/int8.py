"""int8 ONNX with an accuracy gate: static quantization calibrated on real images, checked on
held-out images before the file is published.

Why these choices: onnxruntime's own quantization tools (no new dependency) with
- static quantization: activation ranges fixed from a calibration set (MinMax), so inference
  needs no per-batch range computation;
- per-channel int8 weights (one scale per output channel of every Conv and MatMul), which keep
  the depthwise CPE convs and narrow channels accurate where one scale per tensor would not;
- the first and last of those layers (the stem conv on raw pixels, the classifier) kept in
  float, the usual practice: on a digits model they alone took top-1 agreement from 98.9% to
  100% (max |Δlogit| 0.48 -> 0.21), for a few per cent of the MACs;
- the QDQ format (QuantizeLinear/DequantizeLinear pairs around float ops): a standard graph
  any runtime may fuse into int8 kernels (onnxruntime's CPU provider does for Conv/MatMul).
- weights in a 7-bit range (`reduce_range`), so the file computes the same numbers on every
  x86 CPU: without VNNI (AVX2 only, e.g. AMD EPYC Zen 2) onnxruntime multiplies uint8 by int8
  with `vpmaddubsw`, whose int16 pair sums saturate on full-range weights. On such a CPU a
  digits model's max |Δlogit| against fp32 was 12% of its largest logit with full-range weights
  and 2.3% with 7-bit ones (agreement 98.9% -> 99.7%; benchmarks/RESULTS.md, section 21). On
  VNNI/AMX CPUs nothing saturates and the 7-bit range only halves the weights' resolution,
  which per-channel scales keep small.
Calibration images come from the DATA's training split, verification images from its
validation split, so the gate never scores the images the ranges were fitted to. Both go
through the evaluation transform of that data (resize, centre crop, its normalisation).

The gate, in images: the int8 graph and the fp32 graph (onnxruntime, same inputs) may pick a
different top-1 class on at most k of the n held-out images, k being the 95th percentile of the
disagreements a model that truly differs on (1 - `min_agreement`) of all images would show on n
images (Binomial(n, 1 - min_agreement)). So a file as good as the minimum passes 95% of the time
however small the set, and a worse one fails once the evidence is there: with the default 99%,
k = 5 of 200 images, 7 of 355, 15 of 1000 (a fixed 99% of 200 images would refuse 3 differences,
well within chance for a 1% rate). The max |Δlogit| is reported too, and top-1 against the
labels for both graphs. Calibration data whose class names differ from those the model records
(an animals model calibrated on digits) is refused before quantizing.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..diagnostics import UserError
from ..diagnostics.codes import E907, E908

CALIBRATION_IMAGES = 256
HELD_OUT_IMAGES = 1000
DEFAULT_MIN_AGREEMENT = 0.99
GATE_CONFIDENCE = 0.95  # the gate's k: this percentile of Binomial(n, 1 - min_agreement)
CALIBRATION_BATCH = 16
# The GEMMs and convolutions, which hold nearly all of the MACs and the weights. Norms,
# softmax, GELU and the residual adds stay float between them (int8 there costs accuracy and
# saves little time).
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")


class Int8Error(UserError):
    """The int8 model could not be made or failed its accuracy gate; the message says which."""

    def __init__(self, message: str, code: str):
        super().__init__(message, code=code)


def allowed_disagreements(n: int, min_agreement: float, confidence: float = GATE_CONFIDENCE) -> int:
    """The gate's k: the smallest k with P(X <= k) >= confidence for X ~ Binomial(n, 1 - min_agreement)."""
    p = 1.0 - min_agreement
    if p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    cumulative = 0.0
    for k in range(n + 1):
        log_term = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * math.log(p) + (n - k) * math.log1p(-p))
        cumulative += math.exp(log_term)
        if cumulative >= confidence:
            return k
    return n


@dataclass(frozen=True)
class Int8Report:
    images: int  # held-out images compared
    agreement: float  # share of images where int8 and fp32 pick the same class
    max_abs_logit_error: float  # max |logit_int8 - logit_fp32| over all images and classes
    max_abs_logit: float  # max |logit_fp32|, for scale
    min_agreement: float
    calibration_images: int
    data: str
    disagreements: int = 0  # held-out images where the two graphs pick different classes
    top1_fp32: float | None = None  # top-1 (%) against the held-out labels
    top1_int8: float | None = None
    notes: tuple[str, ...] = ()  # about the calibration data (e.g. images far smaller than the input)

    @property
    def allowed(self) -> int:
        return allowed_disagreements(self.images, self.min_agreement)

    @property
    def ok(self) -> bool:
        return self.disagreements <= self.allowed

    def describe(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        accuracy = ("" if self.top1_int8 is None else
                    f"; top-1 against the labels: int8 {self.top1_int8:.2f}%, fp32 {self.top1_fp32:.2f}%")
        return (f"int8 vs fp32 on {self.images} held-out {self.data} images (validation split; calibrated on "
                f"{self.calibration_images} training images): top-1 agreement {100 * self.agreement:.2f}% "
                f"(minimum {100 * self.min_agreement:.2f}%), {self.disagreements} of {self.images} differ (the gate "
                f"allows {self.allowed}: the {100 * GATE_CONFIDENCE:.0f}th percentile at a "
                f"{100 * (1 - self.min_agreement):.2g}% rate), max|Δlogit| {self.max_abs_logit_error:.3g} "
                f"(max|logit| {self.max_abs_logit:.3g}){accuracy}  {verdict}"
                + "".join(f"; note: {note}" for note in self.notes))


def calibration_notes(spec, data: str) -> tuple[str, ...]:
    """What is odd about calibrating on `data` that is not wrong enough to refuse: images far
    smaller than the model's input (W1250's rule), which calibrate the ranges of upsampled blur."""
    from ..datasets import open_dataset, upsampling_warning

    warning = upsampling_warning(spec, open_dataset(data))
    return () if warning is None else (f"{warning.message} ({warning.hint})",)


def split_images(spec, data: str, split: str, limit: int, labels: tuple[str, ...] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Up to `limit` images of `data`'s split as the network's input (N×C×H×W float32), taken
    evenly across the split (its classes are stored in order), through the eval transform, and
    their labels. `labels`: the class names the model records; data with others is refused."""
    from ..datasets import DataError, check_fit, open_dataset
    from ..train.evaluate import eval_transform, eval_transform_config

    try:
        dataset = open_dataset(data)
        check_fit(spec, dataset)
    except DataError as exc:
        raise Int8Error(str(exc), code=E908) from None
    if labels is not None and tuple(labels) != tuple(dataset.classes):
        shown = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        raise Int8Error(f"--calibrate {data}: its classes ({', '.join(dataset.classes[:5])}"
                        f"{', ...' if len(dataset.classes) > 5 else ''}) are not the model's ({shown}); ranges "
                        "calibrated on other images would not fit the model, and its agreement would not mean "
                        "much", code=E908)
    source = dataset.split(split)
    transform = eval_transform(eval_transform_config(spec, dataset, 0.875))
    picks = np.unique(np.linspace(0, len(source) - 1, num=min(limit, len(source))).round().astype(int))
    images = np.stack([transform(source.image(int(i))).numpy() for i in picks]).astype(np.float32)
    return images, np.asarray([source.labels[int(i)] for i in picks], dtype=np.int64)


class _Reader:
    """onnxruntime's CalibrationDataReader protocol: one input dict per call, None at the end."""

    def __init__(self, images: np.ndarray, batch: int | None):
        step = batch or CALIBRATION_BATCH
        usable = len(images) - len(images) % step if batch else len(images)
        self.batches = [images[i:i + step] for i in range(0, usable, step)]

    def get_next(self):
        return {"images": self.batches.pop(0)} if self.batches else None

    def rewind(self):  # not needed by MinMax; part of the protocol
        pass


def quantize(fp32_path: Path, int8_path: Path, calibration: np.ndarray, batch: int | None) -> None:
    """Static per-channel QDQ int8 of the fp32 graph, calibrated (MinMax) on `calibration`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if batch is not None and len(calibration) < batch:
        raise Int8Error(f"--calibrate: {len(calibration)} images, fewer than the fixed batch of {batch}", code=E908)
    with tempfile.TemporaryDirectory(dir=int8_path.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        import onnx

        layers = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type in QUANTIZED_OPS]
        quantize_static(str(prepared), str(int8_path), _Reader(calibration, batch), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=list(QUANTIZED_OPS),
                        nodes_to_exclude=[layers[0], layers[-1]] if len(layers) > 2 else [],
                        reduce_range=True,  # 7-bit weights: no int16 saturation on CPUs without VNNI
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})


def compare(fp32_path: Path, int8_path: Path, held_out: np.ndarray, batch: int | None, min_agreement: float,
            calibration_images: int, data: str, labels: np.ndarray | None = None) -> Int8Report:
    """Run both graphs on the held-out images (onnxruntime CPU) and measure how they differ."""
    from .verify import onnx_session

    fp32, int8 = onnx_session(fp32_path), onnx_session(int8_path)
    step = batch or 64
    usable = len(held_out) - len(held_out) % step if batch else len(held_out)
    expected, got = [], []
    for i in range(0, usable, step):
        chunk = held_out[i:i + step]
        expected.append(fp32.run(["logits"], {"images": chunk})[0])
        got.append(int8.run(["logits"], {"images": chunk})[0])
    expected_all, got_all = np.concatenate(expected), np.concatenate(got)
    same = expected_all.argmax(1) == got_all.argmax(1)
    top1 = {}
    if labels is not None:
        truth = labels[:len(expected_all)]
        top1 = {"top1_fp32": 100.0 * float((expected_all.argmax(1) == truth).mean()),
                "top1_int8": 100.0 * float((got_all.argmax(1) == truth).mean())}
    return Int8Report(len(expected_all), float(same.mean()), float(np.abs(got_all - expected_all).max()),
                      float(np.abs(expected_all).max()), min_agreement, calibration_images, data,
                      disagreements=int((~same).sum()), **top1)


def mark_int8(int8_path: Path, fp32_path: Path, report: Int8Report) -> None:
    """Carry the fp32 file's spachc metadata into the int8 file, with dtype int8 and the gate's figures."""
    import onnx

    source = {p.key: p.value for p in onnx.load(str(fp32_path), load_external_data=False).metadata_props}
    model = onnx.load(str(int8_path))
    source.update({"spachc.dtype": "int8", "spachc.int8.agreement": f"{report.agreement:.6f}",
                   "spachc.int8.gate": f"at most {report.allowed} of {report.images} differ",
                   "spachc.int8.max_abs_logit_error": f"{report.max_abs_logit_error:.6g}",
                   "spachc.int8.calibration": f"{report.calibration_images} images of {report.data} (train split)",
                   "spachc.int8.verified_on": f"{report.images} images of {report.data} (validation split)"})
    del model.metadata_props[:]
    for key, value in source.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(int8_path))


def make_int8(fp32_path: Path, int8_path: Path, spec, data: str, batch: int | None,
              min_agreement: float = DEFAULT_MIN_AGREEMENT, labels: tuple[str, ...] | None = None) -> Int8Report:
    """Quantize, compare on held-out images, and write `int8_path` only if the gate passes
    (raising Int8Error E907 with the figures otherwise; no file is left behind). `labels`: the
    class names the model records, which the calibration data must have."""
    calibration, _ = split_images(spec, data, "train", CALIBRATION_IMAGES, labels)
    held_out, held_out_labels = split_images(spec, data, "val", HELD_OUT_IMAGES, labels)
    if batch is not None and len(held_out) < batch:
        raise Int8Error(f"--calibrate {data}: {len(held_out)} validation images, fewer than the fixed batch of "
                        f"{batch}", code=E908)
    try:
        quantize(fp32_path, int8_path, calibration, batch)
        report = compare(fp32_path, int8_path, held_out, batch, min_agreement,
                         len(calibration) - (len(calibration) % batch if batch else 0), data, held_out_labels)
        notes = calibration_notes(spec, data)
        if notes:
            from dataclasses import replace

            report = replace(report, notes=notes)
        if not report.ok:
            raise Int8Error(f"int8 file not written: {report.describe()}", code=E907)
        mark_int8(int8_path, fp32_path, report)
    except BaseException:
        int8_path.unlink(missing_ok=True)
        raise
    return report
