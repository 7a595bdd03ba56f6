"""Parameters and MACs of the primitive layers, the vocabulary every count is written in.

MACs follow SPACH.md: convolutions, linear layers and the two attention matmuls at batch 1;
norms, activations, pooling, shifts and softmax are not counted. Kept apart from counts.py
so that the kind registry (kinds.py) can state each mixer's formula without a cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Cost(BaseModel):
    model_config = ConfigDict(frozen=True)
    params: int = 0
    macs: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(params=self.params + other.params, macs=self.macs + other.macs)

    def times(self, n: int) -> "Cost":
        """The same layer applied n times with one set of weights: MACs scale, params do not."""
        return Cost(params=self.params, macs=self.macs * n)


def linear(n_in: int, n_out: int, tokens: int, bias: bool = True) -> Cost:
    return Cost(params=n_in * n_out + (n_out if bias else 0), macs=tokens * n_in * n_out)


def conv(c_in: int, c_out: int, k: int, out_pixels: int, bias: bool, groups: int = 1) -> Cost:
    weights = c_out * (c_in // groups) * k * k
    return Cost(params=weights + (c_out if bias else 0), macs=out_pixels * weights)


def norm(c: int) -> Cost:
    return Cost(params=2 * c)
