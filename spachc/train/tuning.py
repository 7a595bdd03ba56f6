"""Fine-tuning controls of the recipe: `--freeze` and `--layer-decay`.

Freezing sets requires_grad False, so the frozen tensors get no gradient, and they are left
out of the optimizer, so they get no AdamW state either. Layer decay gives every depth its own
parameter groups with an `lr_scale` (BEiT, timm's `param_groups_layer_decay`): the loop sets each
group's lr to the schedule's lr times its scale. With neither, the groups are the two of today
(decay / no decay), so runs without them, and their checkpoints, are unchanged.
"""

from __future__ import annotations

import torch

from ..diagnostics import UserError
from ..lang.ir import Spec
from ..nn.groups import frozen_names, layer_ids, group_matcher, part_names


class FinetuneFlagError(UserError):
    """A --freeze or --layer-decay value the network cannot take."""

    code = "E1024"


def check_layer_decay(value: object) -> None:
    """--layer-decay R must lie in (0, 1]: 1 is plain training, 0 would never train the stem."""
    if value is None:
        return
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = float("nan")
    if not 0 < rate <= 1:
        raise FinetuneFlagError(f"--layer-decay {value}: expected a number in (0, 1]", code="E1023",
                                hint="e.g. --layer-decay 0.75 (BEiT-style: the head at the full lr, each layer "
                                     "below it at 0.75x the one above), or 1 for none")


def freeze_parts(text: str | None, spec: Spec) -> tuple[str, ...]:
    """`stem,stage1` -> ('stem', 'stage1'); names the network does not have -> E1024."""
    if text is None:
        return ()
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    valid = part_names(len(spec.stages))
    wrong = [p for p in parts if p not in valid]
    if wrong or not parts:
        raise FinetuneFlagError(f"--freeze {text}: '{spec.name}' has no part named {', '.join(wrong) or '(none)'}; "
                                f"it has: {', '.join(valid)}",
                                hint=f"e.g. --freeze {valid[0]},{valid[1]}, or --freeze backbone for a linear probe")
    return parts


def freeze(model: torch.nn.Module, text: str | None, spec: Spec) -> set[str]:
    """Turn off gradients of the named parts; returns the frozen parameter names."""
    names = frozen_names((n for n, _ in model.named_parameters()), freeze_parts(text, spec), len(spec.stages))
    for name, param in model.named_parameters():
        if name in names:
            param.requires_grad_(False)
    return names


def param_groups(model: torch.nn.Module, weight_decay: float, layer_decay: float = 1.0) -> list[dict]:
    """Decay matrices and kernels; not norms, biases or layer scales (the 1-D tensors). With
    layer decay, one such pair per layer, each with its lr_scale. Frozen tensors are left out."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if layer_decay == 1.0:
        return [{"params": [p for _, p in trainable if p.ndim > 1], "weight_decay": weight_decay},
                {"params": [p for _, p in trainable if p.ndim <= 1], "weight_decay": 0.0}]
    ids = layer_ids((n for n, _ in model.named_parameters()), group_matcher(coarse=False))
    last = max(ids.values())
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in trainable:
        decays = param.ndim > 1
        key = (ids[name], decays)
        if key not in groups:
            groups[key] = {"params": [], "weight_decay": weight_decay if decays else 0.0,
                           "lr_scale": layer_decay ** (last - ids[name]), "layer": ids[name]}
        groups[key]["params"].append(param)
    return [groups[k] for k in sorted(groups)]
