"""Benchmark (not a test): does `spachc train --init` pay? Two experiments.

1. Transfer: pre-train a small spec on the built-in animals (--animals-train of its 8,000
   silhouettes, 200 validation images), then train on a small slice of the target
   (--target-train images; 200 validation images, balanced over the classes) for the same number
   of epochs five ways: from scratch (the quick recipe), fine-tuned from the pre-trained weights
   with the same quick recipe (only the start differs), with the finetune recipe (quick's lr
   3e-3, layer decay 0.75), the same at ImageNet practice's lower lr (1e-3), and a linear probe
   (finetune, --freeze backbone). --setting animals-digits: all 10 animal classes -> digits (another domain);
   animals-split: animal classes 0-4 -> classes 5-9 (the same domain, new classes). One
   pre-training; 3 seeds of the target training (data order, augmentation, the fresh head);
   mean ± spread (max - min)/2.
2. Zoo size from an official .pth: hybrid_xs weights (spachc's initialisation, 224², 1000 classes)
   written in the paper's key layout, then fine-tuned at 64² with the 10 digit classes
   (--init-spec hybrid_xs; --zoo-train images, 100 validation images, batch 16): loss must
   fall and accuracy rise above chance.

Both run in-process through the same functions as `spachc train --init` (train.init's
read_model_source and plan_init, the Trainer), because the data slice is not a CLI option.

    .venv/bin/python benchmarks/finetune.py            # animals -> digits, then hybrid_xs
    .venv/bin/python benchmarks/finetune.py --only transfer --setting animals-split
    (each part takes 2-6 minutes on the 2-core AMD EPYC at load 15-20)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from spachc.runtime.threads import configure

configure()  # OMP_WAIT_POLICY=PASSIVE and the thread count, before torch loads (spachc/runtime/threads.py)

import torch  # noqa: E402

import spachc  # noqa: E402
from spachc.lang.frontend import parse  # noqa: E402
from spachc.datasets.data import Dataset, Split, limited, open_dataset  # noqa: E402
from spachc.train.init import plan_init, read_model_source  # noqa: E402
from spachc.train.loop import RunOptions, Trainer  # noqa: E402
from spachc.train.recipe import FINETUNE, QUICK  # noqa: E402

SPEC = """\
model transfer
input 16 channels 1
classes 10
stem conv1 patch 4
defaults heads 2
stage conv x2 dim 24
-> down -> stage conv x1, trans x1
"""


def train(spec, dataset, recipe, out: Path, init=None) -> list[dict]:
    Trainer(spec, dataset, recipe, RunOptions(out=out, workers=0, log_every=10**6, init=init), 10**9).run()
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def some_classes(dataset: Dataset, keep: range) -> Dataset:
    """The dataset restricted to the classes in `keep`, relabelled 0..len(keep)-1."""
    def part(split: Split) -> Split:
        chosen = [i for i, label in enumerate(split.labels) if label in keep]
        return Split([split.items[i] for i in chosen], [keep.index(split.labels[i]) for i in chosen], split.reader)

    return Dataset(f"{dataset.name} [classes {keep.start}-{keep.stop - 1}]", tuple(dataset.classes[i] for i in keep),
                   part(dataset.train), part(dataset.val), dataset.norm, dataset.channels, dataset.native_size)


def settings(args) -> tuple[Dataset, Dataset]:
    """(pre-training data, target data) of --setting."""
    animals = open_dataset("animals")
    if args.setting == "animals-split":  # same domain: 5 animal classes -> the 5 others
        return (limited(some_classes(animals, range(0, 5)), train=args.animals_train, val=200),
                limited(some_classes(animals, range(5, 10)), train=args.target_train, val=200))
    return (limited(animals, train=args.animals_train, val=200),
            limited(open_dataset("digits"), train=args.target_train, val=200))


def transfer(args, work: Path) -> dict:
    animals, digits = settings(args)
    spec = parse(SPEC, overrides=[f"classes={len(digits.classes)}"])
    pre_spec = parse(SPEC, overrides=[f"classes={len(animals.classes)}"])
    ways = {
        "scratch (quick)": lambda seed, init: (QUICK.model_copy(update={"epochs": args.epochs, "seed": seed}), None),
        "fine-tune (quick: only the start differs)": lambda seed, init: (
            QUICK.model_copy(update={"epochs": args.epochs, "seed": seed}), init),
        "fine-tune (lr 1e-3, --layer-decay 0.75)": lambda seed, init: (
            FINETUNE.model_copy(update={"epochs": args.epochs, "seed": seed, "lr": 1e-3}), init),
        "fine-tune (finetune)": lambda seed, init: (FINETUNE.model_copy(update={"epochs": args.epochs,
                                                                                  "seed": seed}), init),
        "linear probe (finetune, --freeze backbone)": lambda seed, init: (
            FINETUNE.model_copy(update={"epochs": args.epochs, "seed": seed, "freeze": "backbone"}), init),
    }
    results: dict[str, list[float]] = {w: [] for w in ways}
    pre = work / "animals"  # one pre-training (seed 0); the seeds vary the training on digits
    rows = train(pre_spec, animals, QUICK.model_copy(update={"epochs": args.pretrain_epochs}), pre)
    pretrained = rows[-1]["val_top1"]
    print(f"pre-training on {animals.name}: top-1 {pretrained:.2f}% after {args.pretrain_epochs} epochs", flush=True)
    source = read_model_source(pre)
    for seed in range(args.seeds):
        for way, make in ways.items():
            plan = plan_init(source, spec, digits.classes)
            recipe, init = make(seed, plan)
            rows = train(spec, digits, recipe, work / f"way{list(ways).index(way)}-{seed}", init)
            results[way].append(rows[-1]["val_top1"])
            print(f"seed {seed}  {way:40s} top-1 {rows[-1]['val_top1']:.2f}%", flush=True)
    return {"setting": args.setting, "pretrained_top1": pretrained, "target_top1": results}


def official(args, work: Path) -> dict:
    from spachc.nn.upstream import upstream_key

    zoo = spachc.load("hybrid_xs")
    torch.manual_seed(0)
    model = spachc.build(zoo)
    pth = work / "hybrid_xs_official.pth"
    torch.save({"model": {upstream_key(zoo, k): (v.reshape(1, 1, -1) if k.endswith("layer_scale") else v)
                          for k, v in model.state_dict().items()}}, pth)
    del model
    target = spachc.load("hybrid_xs", ["input=64", "classes=10"])
    digits = limited(open_dataset("digits"), train=args.zoo_train, val=100)
    plan = plan_init(read_model_source(pth, init_spec=zoo, spec=target), target, digits.classes)
    print("\n".join(plan.lines()), flush=True)
    recipe = FINETUNE.model_copy(update={"epochs": args.zoo_epochs, "warmup_epochs": 0.5, "batch_size": 16})
    started = time.perf_counter()
    rows = train(target, digits, recipe, work / "zoo", plan)
    for r in rows:
        print(f"hybrid_xs 64x64 epoch {r['epoch']}: train loss {r['train_loss']:.3f}  val loss {r['val_loss']:.3f}  "
              f"top-1 {r['val_top1']:.2f}%", flush=True)
    return {"loaded": len(plan.weights), "reset": sorted(plan.reset), "left_out": len(plan.left_out),
            "epochs": rows, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("transfer", "official"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6, help="epochs on digits, the same for every way")
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--animals-train", type=int, default=2000)
    parser.add_argument("--setting", choices=("animals-digits", "animals-split"), default="animals-digits")
    parser.add_argument("--target-train", type=int, default=200)
    parser.add_argument("--zoo-train", type=int, default=160)
    parser.add_argument("--zoo-epochs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} threads; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    report = {"args": vars(args)}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "transfer"):
            report["transfer"] = transfer(args, Path(tmp))
            for way, values in report["transfer"]["target_top1"].items():
                mean, spread = statistics.mean(values), (max(values) - min(values)) / 2
                print(f"{way:40s} {mean:.2f} ± {spread:.2f} %  ({', '.join(f'{v:.2f}' for v in values)})")
        if args.only in (None, "official"):
            report["official"] = official(args, Path(tmp))
    print(f"total {time.perf_counter() - started:.0f} s; load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
