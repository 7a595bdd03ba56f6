"""A small FPN fed from the backbone's feature_info learns a real dense task: the multi-scale
features trained end to end (their shapes and equalities are tests/unit/test_backbone.py)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import spachc


# --- a real dense task: digits placed on a larger canvas, predict each pixel's class -----------

def digit_canvases(count: int, size: tuple[int, int], seed: int):
    """Canvases with one 16×16 digit (the 8×8 scan, upscaled) at a random place; target per
    pixel: 0 for background, 1 + the digit's class where its stroke is."""
    from spachc.datasets.data import digits

    data = digits()
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 1, *size), dtype=np.float32)
    masks = np.zeros((count, *size), dtype=np.int64)
    for n in range(count):
        i = int(rng.integers(len(data.train)))
        digit = np.asarray(data.train.image(i).resize((16, 16)), dtype=np.float32) / 255.0
        top, left = int(rng.integers(0, size[0] - 16)), int(rng.integers(0, size[1] - 16))
        images[n, 0, top:top + 16, left:left + 16] = digit
        masks[n, top:top + 16, left:left + 16] = np.where(digit > 0.3, 1 + data.train.labels[i], 0)
    return torch.from_numpy((images - 0.3053) / 0.3760), torch.from_numpy(masks)


class TinyFPN(nn.Module):
    """Lateral 1×1 convs from each map (widths from feature_info), top-down sum, a per-pixel head."""

    def __init__(self, backbone, classes: int, width: int = 16):
        super().__init__()
        self.backbone = backbone
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in backbone.feature_info.channels())
        self.head = nn.Conv2d(width, classes, 3, padding=1)

    def forward(self, images):
        maps = self.backbone(images)
        x = self.lateral[-1](maps[-1])
        for lateral, m in zip(reversed(self.lateral[:-1]), reversed(maps[:-1])):
            x = lateral(m) + F.interpolate(x, size=m.shape[-2:], mode="nearest")
        return F.interpolate(self.head(x), size=images.shape[-2:], mode="bilinear", align_corners=False)


def test_a_small_fpn_fed_from_feature_info_learns_a_dense_task():
    torch.manual_seed(0)
    spec = spachc.parse("""\
model seg
input 32x48 channels 1
classes 11
stem conv1 patch 2
defaults heads 2
stage conv x1 dim 16
-> down -> stage conv x1 dim 24
-> down -> stage trans x1 dim 32
""")
    fpn = TinyFPN(spachc.build(spec, features_only=True), classes=11)
    images, masks = digit_canvases(64, (32, 48), seed=0)
    val_images, val_masks = digit_canvases(32, (32, 48), seed=1)
    optimiser = torch.optim.AdamW(fpn.parameters(), lr=3e-3)

    def val_loss():
        fpn.eval()
        with torch.no_grad():
            return float(F.cross_entropy(fpn(val_images), val_masks))

    before = val_loss()
    for step in range(40):
        fpn.train()
        batch = slice(16 * (step % 4), 16 * (step % 4) + 16)
        loss = F.cross_entropy(fpn(images[batch]), masks[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = val_loss()
    fpn.eval()
    with torch.no_grad():
        predicted = fpn(val_images).argmax(dim=1) > 0
    truth = val_masks > 0
    iou = float((predicted & truth).sum() / (predicted | truth).sum())
    # Measured: loss 2.34 -> 0.20, stroke IoU 0.06 before training -> 0.64 after 40 steps.
    assert after < 0.5 * before, (before, after)
    assert iou > 0.4, iou
