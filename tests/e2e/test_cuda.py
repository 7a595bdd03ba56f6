"""The CUDA paths, checked against CPU fp32: every block kind forward and backward in fp32 and
under bf16 autocast, a real one-process torchrun that trains through DDP on NCCL, and the
export of the weights it trained.

Which device: `SPACHC_TEST_DEVICE` (cuda or cpu) when set; otherwise CUDA where torch sees
it, and a skip, stating why, where it does not. benchmarks/gpu_check.sh runs these tests with
SPACHC_TEST_DEVICE=cuda on a GPU machine (a missing GPU is then a failure, not a skip), and its
--dry-run runs the same functions with SPACHC_TEST_DEVICE=cpu, which tests/e2e/test_gpu_check.py
does in every CPU test run. On CPU the comparisons are CPU against CPU (and torchrun uses
gloo): that run proves the tests and their plumbing, the GPU run proves the GPU.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from support.cli import env
from support.exporting import SPECS, random_model, run_onnx
from support.paths import REPO
from support.training import digest
from support.training import SMALL_RUN, load_tensors, metrics, write_image_folder, write_spec

import spachc
from spachc.export.verify import FP32_TOLERANCE

pytestmark = pytest.mark.cuda

DEVICE_ENV = "SPACHC_TEST_DEVICE"

# Tolerances, against CPU fp32 on the same weights and inputs. Logit errors are max|a-b| / max|b|.
# Gradient errors are ||a-b|| / ||b|| per parameter tensor in fp32, with ||b|| floored at 1e-3 of
# the largest gradient tensor's norm: some gradients vanish in exact arithmetic (a LayerNorm bias
# before the pool or smlp mixer, which cancel constants) and are pure rounding noise in any
# precision. In bf16 the error is taken over all gradients together.
# - fp32: the numerics rule (1e-5) for logits; other kernels sum in other orders, and a gradient
#   accumulates more such sums, hence 1e-4. (CPU fp32 against fp64 for these specs: logits
#   <= 5.3e-7, gradients <= 3.4e-6 on that scale.)
# - bf16 autocast: 8-bit significands in every matmul and conv input (unit roundoff 2^-8 = 0.4%).
#   CPU bf16 autocast against CPU fp32 for these specs: logits <= 1.0e-2, all gradients together
#   <= 1.7e-2 (conv4's BatchNorm); the bounds leave 3-5x that for the GPU's other kernels
#   (flash attention, cuDNN) and stay far below the O(1) error of a wrong kernel.
FP32_LOGITS, FP32_GRAD = 1e-5, 1e-4
BF16_LOGITS, BF16_GRAD = 5e-2, 5e-2
VANISHING = 1e-3


@pytest.fixture(scope="module")
def device() -> str:
    wanted = os.environ.get(DEVICE_ENV)
    if wanted == "cuda" and not torch.cuda.is_available():
        pytest.fail(f"{DEVICE_ENV}=cuda, but torch {torch.__version__} sees no CUDA device")
    if wanted in ("cuda", "cpu"):
        return wanted
    if wanted:
        pytest.fail(f"{DEVICE_ENV}={wanted!r}: use cuda or cpu")
    if torch.cuda.is_available():
        return "cuda"
    pytest.skip(f"no CUDA device here; {DEVICE_ENV}=cpu runs these on CPU (as `benchmarks/gpu_check.sh --dry-run` "
                "does, from tests/e2e/test_gpu_check.py)")


@pytest.fixture
def exact_fp32():
    """Full fp32 on CUDA: no TF32 in matmuls or cuDNN convolutions (restored afterwards)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def forward_backward(model, images, weights, amp: torch.dtype | None):
    """Logits and every parameter's gradient of sum(logits · weights), in training mode."""
    model.train()
    model.zero_grad(set_to_none=True)
    with torch.autocast(images.device.type, dtype=amp, enabled=amp is not None):
        logits = model(images)
    (logits.to(weights.dtype) * weights).sum().backward()
    return logits, {name: p.grad.detach().cpu() for name, p in model.named_parameters()}


def max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def l2_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b)).item()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("kind", list(SPECS))
def test_forward_backward_on_device_match_cpu_fp32(kind, precision, device, exact_fp32):
    _, cpu_model = random_model(kind)
    device_model = copy.deepcopy(cpu_model).to(device)
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(4, 3, 32, 32, generator=gen)
    weights = torch.randn(4, 5, generator=gen)
    ref_logits, ref_grads = forward_backward(cpu_model, images, weights, None)
    amp = torch.bfloat16 if precision == "bf16" else None
    logits, grads = forward_backward(device_model, images.to(device), weights.to(device), amp)

    assert logits.device.type == device
    assert logits.dtype == (torch.bfloat16 if amp else torch.float32)  # autocast did apply
    assert ref_logits.abs().max() > 0.1  # randomised weights: a comparison that can fail
    # Every parameter got a gradient (p.grad is None would have raised), and they are not all tiny.
    assert grads.keys() == ref_grads.keys() and max(g.abs().max() for g in ref_grads.values()) > 0.1
    logit_error = max_rel(logits.detach().float().cpu(), ref_logits.detach())
    if amp is None:
        assert logit_error <= FP32_LOGITS
        # A gradient that is zero in exact arithmetic (LN1's bias before `pool`, whose f maps a
        # constant to 0) is pure rounding noise in fp32, on any device and in any summation order;
        # those are compared in fp64 by test_fp64_gradients_match_cpu, the rest here.
        vanishing = exactly_vanishing(cpu_model, images, weights)
        assert_gradients_close({n: g for n, g in grads.items() if n not in vanishing},
                               {n: g for n, g in ref_grads.items() if n not in vanishing}, FP32_GRAD)
    else:
        assert logit_error <= BF16_LOGITS
        flat = torch.cat([grads[n].flatten() for n in ref_grads])
        ref_flat = torch.cat([g.flatten() for g in ref_grads.values()])
        assert l2_rel(flat, ref_flat) <= BF16_GRAD


def assert_gradients_close(grads, ref_grads, bound):
    floor = VANISHING * max(torch.linalg.vector_norm(g).item() for g in ref_grads.values())
    errors = {name: (torch.linalg.vector_norm(grads[name] - g) / max(torch.linalg.vector_norm(g).item(), floor)).item()
              for name, g in ref_grads.items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] <= bound, f"{worst}: {errors[worst]:.2e}"


def exactly_vanishing(model, images, weights) -> set[str]:
    """Parameters whose gradient is zero in exact arithmetic, found in fp64 on the CPU."""
    _, grads = forward_backward(copy.deepcopy(model).double(), images.double(), weights.double(), None)
    largest = max(torch.linalg.vector_norm(g).item() for g in grads.values())
    return {name for name, g in grads.items() if torch.linalg.vector_norm(g).item() <= 1e-9 * largest}


@pytest.mark.parametrize("kind", list(SPECS))
def test_fp64_gradients_match_cpu(kind, device):
    """Every gradient, vanishing ones included, agrees across devices where rounding is 1e-16."""
    _, cpu_model = random_model(kind)
    cpu_model = cpu_model.double()
    device_model = copy.deepcopy(cpu_model).to(device)
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(4, 3, 32, 32, generator=gen, dtype=torch.float64)
    weights = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    ref_logits, ref_grads = forward_backward(cpu_model, images, weights, None)
    logits, grads = forward_backward(device_model, images.to(device), weights.to(device), None)
    assert max_rel(logits.detach().cpu(), ref_logits.detach()) <= 1e-12
    assert_gradients_close(grads, ref_grads, 1e-9)


@pytest.fixture(scope="module")
def torchrun_run(device, tmp_path_factory):
    """A tiny model trained by a real `torchrun --nproc_per_node 1` on the device, with bf16
    autocast and channels-last: the process joins a process group (NCCL on CUDA) and trains
    through DistributedDataParallel."""
    root = tmp_path_factory.mktemp("torchrun")
    folder = write_image_folder(root / "data")
    spec = write_spec(root)
    out = root / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1",
           "-m", "spachc", "train", str(spec), "--data", str(folder), "--out", str(out), "--device", device,
           "--epochs", "2", "--workers", "0", "--amp", "bf16", "--channels-last", *SMALL_RUN]
    # On a GPU, a hung NCCL start must fail this test (with its output) well inside gpu_check's
    # time box; on a shared CPU the same run may be slow.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=100 if device == "cuda" else 300, env=env(),
                          cwd=REPO)
    return proc, out


def test_one_process_torchrun_trains_through_ddp(device, torchrun_run):
    proc, out = torchrun_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 1
    assert run["backend"] == ("nccl" if device == "cuda" else "gloo")
    assert run["device"].split(":")[0] == device and run["amp"] == "bfloat16"
    history = metrics(out)
    assert [r["epoch"] for r in history] == [1, 2]
    assert all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in history)
    ranks = json.loads((out / "result.json").read_text())["weights_sha256_per_rank"]
    assert ranks == [digest(load_tensors(out / "last.safetensors"))]
    assert proc.stdout.count("epoch 2/2  train loss") == 1


def test_export_of_device_trained_weights(device, torchrun_run, exact_fp32, tmp_path):
    proc, out = torchrun_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trained = out / "last.safetensors"
    onnx_path, st_path = tmp_path / "m.onnx", tmp_path / "m.safetensors"
    export = subprocess.run([sys.executable, "-m", "spachc", "export", str(trained), "--onnx", str(onnx_path),
                             "--safetensors", str(st_path)], capture_output=True, text=True, timeout=300,
                            env=env(), cwd=REPO)
    assert export.returncode == 0, export.stdout + export.stderr

    tensors = load_tensors(trained)
    assert tensors["head.weight"].abs().max() > 0  # trained: the zero-initialised head moved
    exported = load_tensors(st_path)
    assert exported.keys() == tensors.keys() and all(torch.equal(exported[k], tensors[k]) for k in tensors)

    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    cpu_model = spachc.load_model(trained).eval()
    device_model = spachc.load_model(trained, device=device).eval()
    with torch.no_grad():
        on_cpu = cpu_model(images)
        on_device = device_model(images.to(device)).cpu()
    assert on_cpu.abs().max() > 0.01
    np.testing.assert_allclose(run_onnx(onnx_path, images), on_cpu.numpy(), atol=FP32_TOLERANCE, rtol=0)
    assert max_rel(on_device, on_cpu) <= FP32_LOGITS
