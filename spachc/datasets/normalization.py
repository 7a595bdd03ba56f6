"""Per-channel mean and std of a data set's pixels (scaled to [0, 1]).

A module of its own, torch-free, so that the data sets (data.py) and the transforms that use
their statistics (transforms.py, device_batches.py) can both name it without importing each
other, and `import spachc.datasets` stays free of torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Normalization:
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def for_channels(self, channels: int) -> "Normalization":
        if len(self.mean) == channels:
            return self
        if channels == 1:
            return Normalization((sum(self.mean) / len(self.mean),), (sum(self.std) / len(self.std),))
        return Normalization(self.mean[:1] * channels, self.std[:1] * channels)


IMAGENET = Normalization((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
