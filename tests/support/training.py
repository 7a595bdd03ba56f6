"""Shared helpers for the training, eval and crash tests (no tests here).

The image folder is real PNG files written with PIL; three classes whose patterns a tiny
network can tell apart (horizontal stripes, vertical stripes, a checkerboard) plus noise.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image
from support.cli import env, spachc_cmd
from support.paths import REPO

TINY_SPEC = """\
model tiny
input 16
classes 3
stem conv1 patch 4
defaults heads 2
drop_path 0.1

stage conv x1 dim 8
-> down -> stage conv x1, trans x1
"""

# Fast, but every random path of the SPACH recipe stays on: RandAugment, flips, erasing,
# Mixup/CutMix, repeated augmentation, stochastic depth and the EMA.
SMALL_RUN = ["--batch-size", "8", "--warmup-epochs", "1", "--cooldown-epochs", "0", "--lr", "2e-3",
             "--ema-decay", "0.9", "--log-every", "1"]


def pattern(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    period = int(rng.integers(2, 4))
    if label == 0:
        base = (y // period) % 2
    elif label == 1:
        base = (x // period) % 2
    else:
        base = ((x // period) + (y // period)) % 2
    colour = rng.integers(80, 256, size=3)
    image = base[:, :, None] * colour[None, None, :] + rng.normal(0, 20, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image_folder(root: Path, train_per_class: int = 16, val_per_class: int = 4, size: int = 20) -> Path:
    rng = np.random.default_rng(1234)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, name in enumerate(("hstripes", "vstripes", "checker")):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(pattern(label, size, rng)).save(folder / f"{i:03d}.png")
    return root


def write_spec(folder: Path, text: str = TINY_SPEC, name: str = "tiny.spach") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def train(spec: Path, data: Path | str, out: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(spachc_cmd("train", str(spec), "--data", str(data), "--out", str(out), "--device", "cpu",
                                     *args), capture_output=True, text=True, timeout=timeout, env=env(), cwd=REPO)


def load_tensors(path: Path) -> dict:
    from spachc.model_io.tensors import load_weights

    return load_weights(path)[1]


def assert_same_weights(a: Path, b: Path) -> None:
    import torch

    ta, tb = load_tensors(a), load_tensors(b)
    assert ta.keys() == tb.keys()
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def digest(state: dict) -> str:
    """The trainer's weights_digest, recomputed here from the saved file."""
    h = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        h.update(name.encode())
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()
