"""Throughput of a compiled spec: images/s, ms/step, peak memory, and achieved FLOP/s as a
share of this machine's dense matmul rate, measured in the same run.

Timing rules: synthetic data made once on the device; warm-up steps first (they also absorb
`torch.compile`); every timed step ends with a device synchronisation; the figure reported
is the median of the timed steps. FLOPs are 2·MACs per image for inference and 3× that for
a training step (forward, and a backward that costs about twice the forward).
"""

from __future__ import annotations

import contextlib
import platform
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .._version import __version__
from ..lang.ir import Spec
from ..lang.limits import DEFAULT_MAX_PARAMS
from ..lang.summary import summary
from ..diagnostics import UserError
from ..diagnostics.codes import E961, E962
from ..train.optimizer import fused_adamw
from .precision import amp_dtype, autocast, precision_name, resolve_device, resolve_precision, torch_dtype

MODES = ("infer", "train", "both")
TRAIN_FLOP_FACTOR = 3  # forward + backward (≈ 2 forwards)


class BenchError(UserError):
    """A benchmark that cannot run as asked (a mode it does not know, a bad count)."""

    code = E962


def check_request(mode: str, batch_size: int, steps: int, warmup: int) -> None:
    """The mode and the counts (precision, autocast and device are checked where they are
    resolved, by spachc/runtime/precision.py, with the errors every command gives)."""
    if mode not in MODES:
        raise BenchError(f"--mode '{mode}' is not one of: {', '.join(MODES)}")
    if batch_size < 1 or steps < 1 or warmup < 0:
        raise BenchError("--batch-size and --steps must be at least 1, --warmup at least 0", code=E961)


@dataclass
class ModeResult:
    mode: str  # "infer" or "train"
    ms_per_step: float  # median over timed steps
    ms_per_step_min: float
    ms_per_step_max: float
    images_per_s: float  # batch_size / median step time
    gflop_per_image: float  # 2·MACs (infer) or 6·MACs (train), in GFLOP
    achieved_gflops: float  # gflop_per_image · images_per_s
    matmul_share: float  # achieved_gflops / matmul_gflops
    peak_memory_bytes: int
    peak_memory_kind: str  # "cuda_max_allocated" or "cpu_rss_high_water"
    step_times_ms: list[float] = field(default_factory=list)


@dataclass
class BenchReport:
    spec: str
    spec_hash: str
    params: int
    macs: int  # per image, at the spec's input size
    input_shape: list[int]  # per step: [batch, C, H, W]
    batch_size: int
    device: str
    device_name: str
    threads: int
    precision: str  # inference: "fp32" or "bf16" (weights stored in bf16; spachc/nn/precision.py)
    amp: str
    compile: bool
    channels_last: bool
    warmup: int
    steps: int
    matmul_gflops: float  # dense matmul rate measured in this run, same device and dtype
    matmul_size: int
    matmul_dtype: str  # "fp32", "bf16" or "fp16": bf16 for bf16 inference, else the autocast dtype
    torch_version: str
    spachc_version: str
    results: list[ModeResult]

    def to_dict(self) -> dict:
        return asdict(self)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return _cpu_model() or platform.processor() or platform.machine()


def _cpu_model() -> str | None:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, dtype: torch.dtype = torch.float32, size: int | None = None,
                reps: int = 5) -> tuple[float, int]:
    """Dense square matmul GFLOP/s (median of `reps` after warming up), and the size used.

    On CUDA one matmul of 8192² takes about a millisecond, as short as the host's launch and
    synchronisation cost, and the clocks rise only under load; so each timed rep there runs
    several matmuls back to back after a longer warm-up, and the rate is not understated."""
    size = size or (8192 if device.type == "cuda" else 1024)
    inner = 10 if device.type == "cuda" else 1
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    c = torch.empty(size, size, device=device, dtype=dtype)
    for _ in range(inner * (3 if device.type == "cuda" else 1)):
        torch.mm(a, b, out=c)
    synchronize(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=c)
        synchronize(device)
        times.append((time.perf_counter() - start) / inner)
    return 2 * size**3 / statistics.median(times) / 1e9, size


class PeakMemory:
    """Peak memory of the code run inside: CUDA allocator peak, or the process's resident-set
    high-water mark on CPU (reset through /proc/self/clear_refs where Linux allows it, so
    each mode gets its own figure; otherwise the process-wide peak so far)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.kind = "cuda_max_allocated" if device.type == "cuda" else "cpu_rss_high_water"

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")

    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        status = Path("/proc/self/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _time_steps(step, device: torch.device, warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _autocast(device: torch.device, amp: str):
    return autocast(device, amp_dtype(amp, device))


def _compiled(model: torch.nn.Module, device: torch.device, mode: str) -> torch.nn.Module:
    # On CUDA, inference at a fixed shape pays for CUDA graphs ("reduce-overhead"): the
    # per-kernel launch cost disappears. Training keeps the default mode, where the optimizer
    # step runs outside the graph and no graph-held output is reused across steps.
    # On CPU, inference compiles with freezing: weights become constants, folded and pre-packed
    # for oneDNN (measured: bf16 2.2x the fp32 eager module, against 1.5x for bf16 eager).
    if device.type == "cuda" and mode == "infer":
        return torch.compile(model, mode="reduce-overhead")
    if mode == "infer":
        return torch.compile(model, options={"freezing": True})
    return torch.compile(model)


def _infer_step(model, images, device, amp):
    def step():
        with torch.no_grad(), _autocast(device, amp):  # no_grad: inductor's freezing needs it
            model(images)
    return step


def _train_step(model, images, labels, device, amp):
    # The AdamW kernel `spachc train` uses on this device (spachc.train.optimizer.fused_adamw).
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05, fused=fused_adamw(device, model))
    scaler = torch.amp.GradScaler(device.type, enabled=(amp == "fp16" and device.type == "cuda"))

    def step():
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = F.cross_entropy(model(images), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return step


def run_mode(model, mode: str, images, labels, device, *, amp: str, compile: bool, warmup: int,
             steps: int, macs: int, matmul_gflops: float, precision: str = "fp32") -> ModeResult:
    model.train(mode == "train")
    if mode == "infer" and precision != "fp32":
        import copy

        from ..nn.precision import for_inference

        model, _ = for_inference(copy.deepcopy(model), precision, device)
    runner = _compiled(model, device, mode) if compile else model
    step = (_train_step(runner, images, labels, device, amp) if mode == "train"
            else _infer_step(runner, images, device, amp))
    memory = PeakMemory(device)
    memory.reset()
    times = _time_steps(step, device, warmup, steps)
    median = statistics.median(times)
    images_per_s = images.shape[0] / (median / 1e3)
    gflop = 2 * macs * (TRAIN_FLOP_FACTOR if mode == "train" else 1) / 1e9
    return ModeResult(
        mode=mode, ms_per_step=median, ms_per_step_min=min(times), ms_per_step_max=max(times),
        images_per_s=images_per_s, gflop_per_image=gflop, achieved_gflops=gflop * images_per_s,
        matmul_share=gflop * images_per_s / matmul_gflops, peak_memory_bytes=memory.peak_bytes(),
        peak_memory_kind=memory.kind, step_times_ms=times,
    )


def benchmark(spec: Spec, *, state: dict | None = None, batch_size: int = 8, mode: str = "infer",
              device: str = "auto", amp: str = "off", dtype: str = "fp32", compile: bool = False, channels_last: bool = False,
              steps: int = 10, warmup: int = 3, threads: int | None = None, seed: int = 0,
              max_params: int = DEFAULT_MAX_PARAMS) -> BenchReport:
    """Build `spec` (with `state` if given) and time it; see the module docstring.

    `dtype` (fp32|bf16|auto) is the inference precision: weights stored in that type
    (spachc/nn/precision.py). With autocast (`amp` not off) `auto` means fp32 weights, since
    autocast is then the precision asked for. Training steps always keep fp32 weights."""
    from ..model_io.create import build_loaded

    check_request(mode, batch_size, steps, warmup)
    dev = resolve_device(device)
    precision = resolve_precision("fp32" if dtype == "auto" and amp != "off" else dtype, dev)
    amp_type = amp_dtype(amp, dev)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest conv kernels
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build_loaded(spec, state, device=dev, max_params=max_params)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    images = torch.randn(batch_size, spec.channels, *spec.input, device=dev).contiguous(memory_format=memory_format)
    labels = torch.randint(0, spec.classes, (batch_size,), device=dev)
    matmul_dtype = torch_dtype("bf16") if precision == "bf16" and mode == "infer" else amp_type or torch.float32
    matmul_gflops, matmul_size = matmul_rate(dev, matmul_dtype)
    macs = summary(spec).macs
    modes = ("infer", "train") if mode == "both" else (mode,)
    results = [run_mode(model, m, images, labels, dev, amp=amp, compile=compile, warmup=warmup, steps=steps,
                        macs=macs, matmul_gflops=matmul_gflops, precision=precision) for m in modes]
    return BenchReport(
        spec=spec.name, spec_hash=spec.hash, params=summary(spec).params, macs=macs,
        input_shape=[batch_size, spec.channels, *spec.input], batch_size=batch_size, device=str(dev),
        device_name=device_name(dev), threads=torch.get_num_threads(), precision=precision, amp=amp, compile=compile,
        channels_last=channels_last, warmup=warmup, steps=steps, matmul_gflops=matmul_gflops,
        matmul_size=matmul_size,
        matmul_dtype=precision_name(matmul_dtype),
        torch_version=torch.__version__, spachc_version=__version__, results=results,
    )
