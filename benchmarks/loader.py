"""spachc's training input pipeline in images/s per worker core, on generated ImageNet-like JPEGs.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/loader.py --images 1000 --rounds 3
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/loader.py --compare uint8 --images 1000 --rounds 5
    .venv/bin/python benchmarks/loader.py --train BEFORE_TREE --train . --images 1000 --rounds 3

Writes `--images` JPEGs (~500×375, smooth random colour fields with texture, quality 90, ~90 KB
each: sizes and file sizes in ImageNet's range) into a temporary image folder, then runs each stage
of the loader in ONE process on one core (torch and OpenMP at one thread), as one DataLoader
worker would, and prints images per CPU-second of that process (= img/s per fully used
core; CPU time, not wall time, so that other processes on a shared machine do not dilute it).

`--compare draft` (the default) compares JPEG decoding whole (`full`, the loader before draft
mode) with the trainer's (`draft`: decode_for_crop lets libjpeg decode at 1/2-1/8 scale):

  decode          read_image (full decode), the eval loader's first step
  crop+flip       decode + RandomResizedCrop + flip + to tensor + normalise (no RandAugment/erasing)
  crop+flip uint8 the same, ending in a uint8 tensor (TrainTransform.uint8)
  recipe          the `spach` recipe's per-sample transform (+ RandAugment m9, Random Erasing 0.25)
  recipe+batch    the same through the trainer's DataLoader (EpochSampler, collation) + Mixup/CutMix

`--compare uint8` compares what a worker did before (`float`: each sample converted,
normalised and erased in the worker) with what it does now (`uint8`: the batch stays uint8;
device_batches.finish_batch normalises and erases it on the device), JPEGs drafted in both:

  crop+flip       the per-sample transform without RandAugment and erasing
  recipe          the `spach` recipe's per-sample transform
  worker batch    the recipe through TransformedSplit and the collate function: a worker's whole job
  device part     (uint8 only) finish_batch + Mixup/CutMix run on this CPU: the work moved off the
                  workers, in img/s of one core if the "device" were this CPU

`--train TREE` (twice or more: trees to alternate, e.g. a `git archive` of the commit before and
this checkout) trains a small 64×64 hybrid for one epoch of the folder with the `spach` recipe,
`--workers` DataLoader workers, on the CPU, in a child process importing spachc from TREE, and
prints the epoch's training images per wall second (Trainer.train_s: the loop, not the start-up
or validation); a whole-pipeline figure, so it depends on the machine's other load.

Rounds alternate the variants; the median is reported, and how many such cores feed a consumer of
`--rate` images/s (2,668: the measured hybrid_s bf16 training step on one H200, RESULTS §8).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from spachc.datasets.data import (EpochSampler, TransformedSplit, collate_readable, image_folder,  # noqa: E402
                                  read_image)
from spachc.datasets.device_batches import collate_train, finish_batch  # noqa: E402
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


def worker_batches(split, transform_fn, collate, batch: int) -> int:
    """A worker's whole job: TransformedSplit + the trainer's batch sampler + collation."""
    sampler = EpochSampler(len(split), batch, seed=0, epoch=0)
    loader = torch.utils.data.DataLoader(TransformedSplit(split, transform_fn), batch_sampler=sampler,
                                         num_workers=0, collate_fn=collate)
    return sum(b[1].shape[0] for b in loader)


def device_part(batches, tf, classes: int) -> int:
    """finish_batch (normalise, erase) and Mixup/CutMix on uint8 batches, here on the CPU."""
    mixer = Mixer(classes, 0.8, 1.0, 1.0, 0.5, 0.1)
    cpu = torch.device("cpu")
    for step, b in enumerate(batches):
        mixer(finish_batch(b.images, b.erase, tf.norm, cpu), b.labels, np.random.default_rng(step))
    return sum(b.labels.shape[0] for b in batches)


def uint8_stages(split, args) -> dict:
    plain, recipe = transform(args.size, False), transform(args.size, True)
    seeds = [(i, 1000 + i) for i in range(len(split))]
    reader = split.reader  # the trainer's: JPEGs opened lazily, drafted by the transform
    ready = list(torch.utils.data.DataLoader(TransformedSplit(split, recipe.uint8), num_workers=0,
                                             batch_sampler=EpochSampler(len(split), args.batch, seed=0, epoch=0),
                                             collate_fn=collate_train))
    return {
        "crop+flip": {"float": lambda: per_sample(split, plain, reader, seeds),
                      "uint8": lambda: per_sample(split, plain.uint8, reader, seeds)},
        "recipe": {"float": lambda: per_sample(split, recipe, reader, seeds),
                   "uint8": lambda: per_sample(split, recipe.uint8, reader, seeds)},
        "worker batch": {"float": lambda: worker_batches(split, recipe, collate_readable, args.batch),
                         "uint8": lambda: worker_batches(split, recipe.uint8, collate_train, args.batch)},
        "device part": {"uint8": lambda: device_part(ready, recipe, len(set(split.labels)))},
    }


SPEC = """model loader_bench
input 64 channels 3
classes 10
stem conv1 patch 4
defaults heads 2 channel_ratio 2
stage conv x1 dim 32
-> down -> stage conv x1, trans x1
"""

CHILD = """
import json, sys
from pathlib import Path
import spachc
from spachc.train.loop import RunOptions, Trainer
from spachc.train.recipe import RECIPES
from spachc.datasets.data import open_dataset
root, out, workers, batch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
recipe = RECIPES["spach"].model_copy(update=dict(epochs=1, batch_size=batch, warmup_epochs=0, cooldown_epochs=0,
                                                 ema_decay=None, repeated_aug=1, amp="off"))
trainer = Trainer(spachc.parse(sys.argv[5]), open_dataset(root), recipe,
                  RunOptions(out=out, workers=workers, device="cpu", log_every=10**6), 10**9)
trainer.run()
print(json.dumps({"images": trainer.steps_per_epoch * batch, "train_s": trainer.train_s,
                  "spachc": str(Path(spachc.__file__).resolve().parent)}))
"""


def train_once(tree: str, root: Path, args) -> tuple[float, float]:
    """Images per wall second of one epoch's training loop, spachc imported from `tree`, and
    images per CPU-second of the child and its DataLoader workers over the whole run (start-up,
    validation and checkpoint included: the same in every tree; CPU time is not diluted by the
    machine's other load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
        done = subprocess.run([sys.executable, "-c", CHILD, str(root), str(Path(out) / "run"), str(args.workers),
                               str(args.batch), SPEC], env=env, cwd=out, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"training with {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["spachc"]) != (Path(tree).resolve() / "spachc"):
        raise SystemExit(f"{tree}: the child imported spachc from {result['spachc']}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result["images"] / result["train_s"], result["images"] / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--measure", type=int, help="images per timed pass (default: all)")
    parser.add_argument("--size", type=int, default=224, help="training input size")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2668.0, help="images/s one accelerator consumes")
    parser.add_argument("--compare", choices=("draft", "uint8"), default="draft",
                        help="draft: JPEG draft decoding vs whole; uint8: float vs uint8 worker output")
    parser.add_argument("--train", action="append", metavar="TREE",
                        help="a spachc source tree to train with end to end (give two or more to alternate)")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers for --train")
    args = parser.parse_args()
    if args.train:
        return train_trees(args)
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
        stages = uint8_stages(split, args) if args.compare == "uint8" else {
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
            gain = "" if len(rates) < 2 else f"  {names[1]}/{names[0]} {rates[names[1]] / rates[names[0]]:.2f}x"
            print(f"{stage:15s} {line}{gain}  [load {os.getloadavg()[0]:.1f}]", flush=True)


def train_trees(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.images)
        print(f"{args.images} JPEGs, output {args.batch}x3x64x64 batches, {args.workers} worker(s), CPU training, "
              f"load {os.getloadavg()[0]:.1f}, CPU {cpu_name()}", flush=True)
        rates = {tree: [] for tree in args.train}
        for r in range(args.rounds):
            for tree in (args.train if r % 2 == 0 else args.train[::-1]):
                rates[tree].append(train_once(tree, root, args))
                wall, cpu = rates[tree][-1]
                print(f"round {r + 1} {tree}: {wall:.1f} img/s (loop, wall), {cpu:.1f} img/CPU-s (run)  "
                      f"[load {os.getloadavg()[0]:.1f}]", flush=True)
        for tree, values in rates.items():
            walls, cpus = [v[0] for v in values], [v[1] for v in values]
            print(f"{tree}: median {statistics.median(walls):.1f} img/s ({', '.join(f'{v:.0f}' for v in walls)}), "
                  f"{statistics.median(cpus):.1f} img/CPU-s ({', '.join(f'{v:.0f}' for v in cpus)}) over "
                  f"{len(values)} epochs", flush=True)


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
