"""A small spachc model trained on the built-in digits inside the test session (a few seconds
of CPU), for the tests of reduced precision (bf16, int8) that need real, confident logits.

Import `trained_digits` into a test module to use the fixture."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import spachc

SPEC_TEXT = """model digits_lowp
input 32 channels 1
classes 10
stem conv1 patch 4
defaults heads 2 channel_ratio 2
stage conv x1 dim 32 -> down -> stage mlp x1, trans x1
"""


def split_tensors(spec, split: str):
    """(images, labels) of the digits `split` ('train' or 'val') through the eval transform."""
    from spachc.datasets.data import EvalShard, open_dataset
    from spachc.train.evaluate import eval_transform, eval_transform_config

    dataset = open_dataset("digits")
    shard = EvalShard(getattr(dataset, split), eval_transform(eval_transform_config(spec, dataset, 1.0)))
    images, labels = zip(*(shard[i] for i in range(len(shard))))
    return torch.stack(images), torch.tensor(labels)


def train_digits(folder):
    """(spec, path of its .spach in `folder`, the model trained 6 epochs on the digits, in eval
    mode). Also what benchmarks/int8_range.py measures."""
    spec_path = folder / "digits_lowp.spach"
    spec_path.write_text(SPEC_TEXT)
    spec = spachc.load(str(spec_path))
    torch.manual_seed(0)
    model = spachc.build(spec)
    images, labels = split_tensors(spec, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(6):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
    return spec, spec_path, model.eval()


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory):
    """(spec, trained fp32 model in eval mode, val images, val labels, path of its .spach)."""
    spec, spec_path, model = train_digits(tmp_path_factory.mktemp("digits_lowp"))
    val_images, val_labels = split_tensors(spec, "val")
    return spec, model, val_images, val_labels, spec_path
