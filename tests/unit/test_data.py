"""Datasets, sampling, transforms, mixing and the schedule: exact expectations, no training."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
import torch
from PIL import Image
from support.training import write_image_folder

from spachc.datasets.data import (
    DataError, EpochSampler, digits, stratified_split_indices, image_folder, open_dataset, read_image,
    worker_error_message,
)
from spachc.datasets.transforms import (
    IMAGENET, EvalTransform, RandAugment, TrainTransform, random_resized_crop, resize_center_crop,
)
from spachc.train.mix import Mixer, soft_target_cross_entropy
from spachc.train.plot import curves_png
from spachc.train.recipe import QUICK, SPACH, RecipeError, resolve_recipe
from spachc.train.schedule import lr_at

DIGITS_CSV = "spachc/data/digits.csv.gz"


def test_digits_is_the_uci_data_split_stratified_and_deterministic():
    from support.paths import REPO

    with gzip.open(REPO / DIGITS_CSV, "rt") as f:
        rows = [list(map(float, line.split(","))) for line in f]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows)
    labels = np.array([int(r[64]) for r in rows])
    data = digits()
    per_class = np.bincount(labels)
    val_per_class = [len(range(4, n, 5)) for n in per_class]
    assert len(data.val) == sum(val_per_class) == 355 and len(data.train) == 1797 - 355
    assert np.bincount(data.val.labels).tolist() == val_per_class
    train_idx, val_idx = stratified_split_indices(labels)
    assert set(train_idx).isdisjoint(val_idx) and len(train_idx) + len(val_idx) == 1797
    assert data.classes == tuple(str(i) for i in range(10))
    first_train = int(train_idx[0])
    image = data.train.image(0)
    assert image.mode == "L" and image.size == (8, 8)
    expected = np.round(np.array(rows[first_train][:64]).reshape(8, 8) * 255 / 16)
    assert np.array_equal(np.asarray(image), expected.astype(np.uint8))
    assert digits().val.labels == data.val.labels


def test_image_folder_reads_classes_and_rejects_bad_trees(tmp_path):
    root = write_image_folder(tmp_path / "ok", train_per_class=2, val_per_class=1)
    data = image_folder(root)
    assert data.classes == ("checker", "hstripes", "vstripes")
    assert len(data.train) == 6 and len(data.val) == 3
    assert data.train.image(0).size == (20, 20)
    with pytest.raises(DataError, match="no 'val/' folder"):
        (tmp_path / "noval" / "train" / "a").mkdir(parents=True)
        open_dataset(str(tmp_path / "noval"))
    with pytest.raises(DataError, match="no such data directory or built-in dataset: 'digitz'"):
        open_dataset("digitz")


def test_a_corrupt_image_is_named_in_the_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match=f"{bad}: cannot decode image"):
        read_image(str(bad))


def test_worker_error_message_unwraps_the_worker_traceback():
    wrapped = DataError("Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                        "last):\n  File \"x.py\", line 1\nspachc.datasets.data.DataError: /d/a.png: cannot decode image")
    assert worker_error_message(wrapped) == "/d/a.png: cannot decode image"
    assert worker_error_message(DataError("plain")) == "plain"


@pytest.mark.parametrize("world, repeats", [(1, 1), (2, 1), (2, 3), (3, 3)])
def test_sampler_shards_cover_the_data_and_resume_mid_epoch(world, repeats):
    size, batch = 50, 4
    shards = [EpochSampler(size, batch, seed=5, epoch=2, rank=r, world=world, repeats=repeats) for r in range(world)]
    per_rank = -(-size // world)
    assert all(len(s.indices) == per_rank for s in shards)
    positions = np.concatenate([s.positions for s in shards])
    assert len(set(positions.tolist())) == len(positions)  # no sample position twice
    if repeats == 1:
        assert set(np.concatenate([s.indices for s in shards]).tolist()) == set(range(size))
    else:  # the copies of one image are spread over the ranks (as in DeiT's RASampler)
        most = max(np.bincount(s.indices).max() for s in shards)
        assert most == -(-repeats // world)
    full = list(shards[0])
    tail = list(EpochSampler(size, batch, seed=5, epoch=2, rank=0, world=world, repeats=repeats, start_step=3))
    assert tail == full[3:] and len(full) == shards[0].steps == per_rank // batch
    other_epoch = list(EpochSampler(size, batch, seed=5, epoch=3, rank=0, world=world, repeats=repeats))
    assert other_epoch != full


def test_randaugment_policy_parsing():
    assert RandAugment.parse("rand-m9-mstd0.5-inc1") == RandAugment(9.0, 0.5, 2)
    assert RandAugment.parse("rand-m7-n3") == RandAugment(7.0, 0.5, 3)
    with pytest.raises(ValueError, match="cannot read 'q4'"):
        RandAugment.parse("rand-m9-q4")
    with pytest.raises(ValueError, match="must start with 'rand-'"):
        RandAugment.parse("auto-m9")


def test_train_transform_is_a_function_of_the_sample_seed():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8))
    transform = TrainTransform((16, 16), 3, IMAGENET, (0.08, 1.0), (0.75, 4 / 3), 0.5, RandAugment(), 0.25)
    a, b, c = transform(image, 11), transform(image, 11), transform(image, 12)
    assert a.shape == (3, 16, 16) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_eval_transform_resizes_crops_and_normalises():
    grey = Image.new("RGB", (64, 48), (128, 128, 128))
    x = EvalTransform((32, 32), 3, IMAGENET, 0.875)(grey)
    expected = [(128 / 255 - m) / s for m, s in zip(IMAGENET.mean, IMAGENET.std)]
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-6)
    # shorter side 48 -> 32/0.875 = 36.57 -> 37, the long side in proportion, then the centre 32x32
    assert resize_center_crop(grey, (32, 32), 0.875).size == (32, 32)
    assert random_resized_crop(grey, (8, 12), (0.5, 1.0), (0.75, 1.33), random.Random(0)).size == (12, 8)
    one = EvalTransform((8, 8), 1, IMAGENET.for_channels(1), 1.0)(Image.new("L", (8, 8), 255))
    assert one.shape == (1, 8, 8) and torch.allclose(one, torch.full((1, 8, 8), (1 - 0.449) / 0.226), atol=1e-3)


def test_mixup_and_cutmix_targets_are_distributions_weighted_by_area():
    images = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 8, 8).clone()
    labels = torch.tensor([0, 1, 2, 3])
    cutmix = Mixer(4, mixup=0.0, cutmix=1.0, prob=1.0, switch_prob=1.0, smoothing=0.0)
    mixed, targets = cutmix(images.clone(), labels, np.random.default_rng(3))
    assert torch.allclose(targets.sum(1), torch.ones(4))
    for i in range(4):  # the share of pixels from the reversed batch is the target weight of its label
        from_other = (mixed[i] == 3 - i).float().mean()
        assert 0 < float(from_other) < 1
        assert float(targets[i, 3 - i]) == pytest.approx(float(from_other), abs=1e-6)
    mixup = Mixer(4, mixup=0.8, cutmix=0.0, prob=1.0, switch_prob=0.0, smoothing=0.1)
    mixed, targets = mixup(images.clone(), labels, np.random.default_rng(4))
    lam = float(targets[0, 0] - 0.1 / 4) / (1 - 0.1)  # smoothed one-hot: 1 - 0.1 + 0.1/4 on the label
    assert 0 < lam < 1 and torch.allclose(mixed[0], torch.full((1, 8, 8), 3 * (1 - lam)), atol=1e-5)
    loss = soft_target_cross_entropy(torch.zeros(4, 4), targets)
    assert float(loss) == pytest.approx(np.log(4), rel=1e-6)


def test_schedule_warms_up_decays_and_cools_down():
    recipe = SPACH.model_copy(update={"epochs": 10, "warmup_epochs": 2, "cooldown_epochs": 2})
    steps, peak = 5, 1e-3
    assert lr_at(0, steps, recipe, peak) == recipe.warmup_lr
    assert lr_at(10, steps, recipe, peak) == pytest.approx(peak)
    assert lr_at(10 + 15, steps, recipe, peak) == pytest.approx((peak + recipe.min_lr) / 2)
    assert lr_at(40, steps, recipe, peak) == pytest.approx(recipe.min_lr)
    assert lr_at(49, steps, recipe, peak) == pytest.approx(recipe.min_lr)
    decay = [lr_at(s, steps, recipe, peak) for s in range(10, 41)]
    assert all(a >= b for a, b in zip(decay, decay[1:]))


def test_recipes_and_overrides():
    assert SPACH.peak_lr(1024) == pytest.approx(1e-3)  # 5e-4 x 1024 / 512, as in the paper
    assert (SPACH.weight_decay, SPACH.label_smoothing, SPACH.mixup, SPACH.cutmix) == (0.05, 0.1, 0.8, 1.0)
    assert (SPACH.reprob, SPACH.ema_decay, SPACH.warmup_epochs, SPACH.cooldown_epochs) == (0.25, 0.99996, 20, 10)
    assert QUICK.hflip == 0.0 and QUICK.mixup == 0.0
    changed = resolve_recipe("spach", {"epochs": "5", "crop_scale": ("0.5", "1"), "ema_decay": None})
    assert changed.epochs == 5 and changed.crop_scale == (0.5, 1.0) and changed.ema_decay == SPACH.ema_decay
    with pytest.raises(RecipeError, match="--label-smoothing"):
        resolve_recipe("quick", {"label_smoothing": "1.5"})
    with pytest.raises(RecipeError, match="unknown recipe 'fast'"):
        resolve_recipe("fast", {})


def test_curves_png_draws_every_series():
    history = [{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e, "val_top1": 10.0 * e, "val_top5": 20.0 * e}
               for e in range(1, 5)]
    import io

    image = Image.open(io.BytesIO(curves_png(history))).convert("RGB")
    assert image.size == (640, 600)
    colours = {image.getpixel((x, y)) for x in range(0, 640, 2) for y in range(0, 600, 2)}
    for colour in ((31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189)):
        assert colour in colours


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_every_randaugment_op_keeps_mode_and_size(mode):
    from spachc.datasets.transforms import RAND_OPS_INCREASING, _op

    image = Image.fromarray(np.random.default_rng(1).integers(40, 120, (32, 24, 3), dtype=np.uint8)).convert(mode)
    unchanged = set()
    for name in RAND_OPS_INCREASING:
        out = _op(name, image, 9.0, random.Random(0))
        assert out.mode == mode and out.size == (24, 32), name
        if out.tobytes() == image.tobytes():
            unchanged.add(name)
    # Every op alters a dim, noisy image (PIL equalizes only above 255 pixels), except that a
    # grey image has no colour to saturate.
    assert unchanged == ({"ColorIncreasing"} if mode == "L" else set())
