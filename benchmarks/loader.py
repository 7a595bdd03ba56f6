"""spachc's training input pipeline in images/s per worker core, on generated ImageNet-like JPEGs.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/loader.py --images 1000 --rounds 3

Writes `--images` JPEGs (~500×375, smooth random colour fields with texture, quality 90, ~90 KB
each: sizes and file sizes in ImageNet's range) into a temporary image folder, then runs each stage
of the loader in ONE process on one core (torch and OpenMP at one thread), as one DataLoader
worker would, and prints images per CPU-second of that process (= img/s per fully used
core; CPU time, not wall time, so that other processes on a shared machine do not dilute it) for:

  decode          read_image (full decode), the eval loader's first step
  crop+flip       decode + RandomResizedCrop + flip + to tensor + normalise (no RandAugment/erasing)
  crop+flip uint8 the same, ending in a uint8 tensor (normalising left to the device: not built)
  recipe          the `spach` recipe's per-sample transform (+ RandAugment m9, Random Erasing 0.25)
  recipe+batch    the same through the trainer's DataLoader (EpochSampler, collation) + Mixup/CutMix

each with the JPEG decoded whole (`full`, the loader before draft mode) and as the trainer does
now (`draft`: decode_for_crop lets libjpeg decode at 1/2-1/8 scale when the crop allows). Rounds
alternate the variants; the median is reported, and how many such cores feed a consumer of
`--rate` images/s (2,668: the measured hybrid_s bf16 training step on one H200, RESULTS §8).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from spachc.datasets.data import EpochSampler, TransformedSplit, image_folder, read_image  # noqa: E402
from spachc.train.mix import Mixer  # noqa: E402
from spachc.train.recipe import RECIPES  # noqa: E402
from spachc.datasets.transforms import IMAGENET, RandAugment, TrainTransform, crop_box, decode_for_crop  # noqa: E402


def generate(root: Path, count: int, classes: int = 10, seed: int = 0) -> None:
    """ImageNet-like JPEGs: a low-frequency colour field (objects, sky) plus fine texture."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", count), ("val", classes)):
        for i in range(n):
            w, h = (500, 375) if rng.random() < 0.7 else (375, 500)
            coarse = rng.integers(0, 256, (h // 25 + 2, w // 25 + 2, 3), dtype=np.uint8)
            field = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
            texture = rng.normal(0, 12, (h, w, 1)).astype(np.int16)
            pixels = np.clip(field + texture, 0, 255).astype(np.uint8)
            folder = root / split / f"c{i % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)


def transform(size: int, recipe: bool) -> TrainTransform:
    r = RECIPES["spach"]
    return TrainTransform((size, size), 3, IMAGENET, r.crop_scale, r.crop_ratio, r.hflip,
                          RandAugment.parse(r.randaugment) if recipe else None, r.reprob if recipe else 0.0)


def uint8_crop_flip(tf: TrainTransform):
    """The crop + flip stage ending in a uint8 tensor: what a worker would hand over if the
    float conversion and normalisation ran on the device (timm's PrefetchLoader idea)."""
    def run(image, seed):
        rng = random.Random(seed)
        box = crop_box(*image.size, tf.crop_scale, tf.crop_ratio, rng)
        image, box = decode_for_crop(image, box, tf.size)
        image = image.convert("RGB").resize((tf.size[1], tf.size[0]), Image.Resampling.BICUBIC, box=box)
        if rng.random() < tf.hflip:
            image = ImageOps.mirror(image)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
    return run


def per_sample(split, tf, reader, seeds) -> int:
    for i, seed in seeds:
        tf(reader(split.items[i]), seed)
    return len(seeds)


def batched(split, tf, batch: int, size: int) -> int:
    mixer = Mixer(len(set(split.labels)), 0.8, 1.0, 1.0, 0.5, 0.1)
    sampler = EpochSampler(len(split), batch, seed=0, epoch=0)
    loader = torch.utils.data.DataLoader(TransformedSplit(split, tf), batch_sampler=sampler, num_workers=0)
    n = 0
    for step, (images, labels) in enumerate(loader):
        mixer(images, labels, np.random.default_rng(step))
        n += labels.shape[0]
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--measure", type=int, help="images per timed pass (default: all)")
    parser.add_argument("--size", type=int, default=224, help="training input size")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2668.0, help="images/s one accelerator consumes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.images)
        data = image_folder(root)
        split = data.train
        if args.measure:
            split = type(split)(split.items[:args.measure], split.labels[:args.measure], split.reader)
        kb = statistics.mean(Path(p).stat().st_size for p in split.items) / 1e3
        seeds = [(i, 1000 + i) for i in range(len(split))]
        loaded = lambda p: read_image(p)  # noqa: E731  (decoded whole: the loader before draft mode)
        lazy = split.reader  # what the trainer uses now (JPEGs opened lazily)
        stages = {
            "decode": {"full": lambda: [read_image(p) for p in split.items] and len(split)},
            "crop+flip": {"full": lambda: per_sample(split, transform(args.size, False), loaded, seeds),
                          "draft": lambda: per_sample(split, transform(args.size, False), lazy, seeds)},
            "crop+flip uint8": {"full": lambda: per_sample(split, uint8_crop_flip(transform(args.size, False)), loaded,
                                                           seeds),
                                "draft": lambda: per_sample(split, uint8_crop_flip(transform(args.size, False)), lazy,
                                                            seeds)},
            "recipe": {"full": lambda: per_sample(split, transform(args.size, True), loaded, seeds),
                       "draft": lambda: per_sample(split, transform(args.size, True), lazy, seeds)},
            "recipe+batch": {
                "full": lambda: batched(type(split)(split.items, split.labels, loaded), transform(args.size, True),
                                        args.batch, args.size),
                "draft": lambda: batched(split, transform(args.size, True), args.batch, args.size)},
        }
        print(f"{len(split)} JPEGs, mean {kb:.0f} KB, output {args.size}², 1 thread, "
              f"load {os.getloadavg()[0]:.1f}, CPU {cpu_name()}", flush=True)
        for stage, variants in stages.items():
            times = {v: [] for v in variants}
            names = list(variants)
            for r in range(args.rounds):
                for v in (names if r % 2 == 0 else names[::-1]):
                    start = time.process_time()  # CPU seconds of this process: img/s per busy core,
                    n = variants[v]()              # unlike wall time, not diluted by other load
                    times[v].append(n / (time.process_time() - start))
            rates = {v: statistics.median(t) for v, t in times.items()}
            line = "  ".join(f"{v} {rate:6.0f} img/s/core ({args.rate / rate:4.1f} cores for {args.rate:,.0f} img/s)"
                             for v, rate in rates.items())
            gain = f"  draft/full {rates['draft'] / rates['full']:.2f}x" if "draft" in rates else ""
            print(f"{stage:15s} {line}{gain}  [load {os.getloadavg()[0]:.1f}]", flush=True)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
