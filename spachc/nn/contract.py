"""timm's model contract: the attributes and methods code written for timm models expects of a
backbone (`pretrained_cfg`, `reset_classifier`, `set_grad_checkpointing`, ...), with the facts
they report derived from the Spec, so they cannot disagree with the network.

`pretrained_cfg` uses timm's keys. The preprocessing part (input_size, mean, std, crop_pct,
interpolation, ...) is spachc's default for the spec until a model is loaded with recorded
preprocessing (spachc.model_io assigns it); the architecture part (num_classes, classifier,
first_conv, pool_size, fixed_input_size) always comes from the module itself.
"""

from __future__ import annotations

from ..diagnostics import UserError
from ..lang.frontend import parse
from ..lang.ir import Spec
from ..lang.kinds import KINDS
from ..lang.printer import to_text
from ..model_io.metadata import default_preprocessing

GLOBAL_POOLS = ("avg", "")  # timm's names: mean over tokens, or none (unpooled B×C×H×W maps)
CLASSIFIER = "head"  # the classifier's module name, as timm's `pretrained_cfg["classifier"]`


class ContractError(UserError):
    """A bad argument to a timm-contract method (`reset_classifier`, `build(num_classes=...)`)."""

    code = "E1230"


def check_num_classes(num_classes) -> int:
    """timm's rule: 0 removes the classifier, a positive count makes a fresh one."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ContractError(f"num_classes={num_classes!r}: give a whole number >= 0",
                            hint="0 removes the classifier (forward gives pooled features); N > 0 makes a fresh "
                                 "N-class head")
    return num_classes


def check_global_pool(global_pool: str | None) -> str | None:
    if global_pool is not None and global_pool not in GLOBAL_POOLS:
        raise ContractError(f"global_pool={global_pool!r} is not supported", code="E1231",
                            hint="'avg' pools the tokens (the default); '' keeps them as B×C×H×W maps")
    return global_pool


def with_classes(spec: Spec, num_classes: int) -> Spec:
    """The same spec with another class count, made by the `--set classes=N` override, so the
    result is validated and hashed exactly like a spec written that way."""
    if num_classes == spec.classes:
        return spec
    return parse(to_text(spec), source=spec.name, overrides=[f"classes={num_classes}"])


def first_conv(spec: Spec) -> str:
    """The module name of the convolution that reads the image (timm's `first_conv`)."""
    return "stem.body.0" if spec.stem.kind == "conv4" else "stem.proj"


def architecture_cfg(spec: Spec) -> dict:
    """timm's pretrained_cfg for a freshly built model of `spec`: spachc's default
    preprocessing for its input, and the architecture's own facts."""
    return {
        "architecture": spec.name,
        **default_preprocessing(spec.input, spec.channels).to_cfg(),
        "num_classes": spec.classes,
        "classifier": CLASSIFIER,
        "first_conv": first_conv(spec),
        "pool_size": list(spec.output_grid),
        "fixed_input_size": any(KINDS[k].grid_tied for s in spec.stages for k in s.kinds),
    }


class TimmContract:
    """Mixed into SpachNet and SpachFeatures (torch modules with `.spec` and `.stages`)."""

    @property
    def pretrained_cfg(self) -> dict:
        return self._pretrained_cfg

    @pretrained_cfg.setter
    def pretrained_cfg(self, cfg: dict) -> None:
        """Assigned keys (recorded preprocessing, labels) replace the defaults; the keys not
        given keep their architecture values, so a loaded model still says its classifier."""
        self._pretrained_cfg = {**architecture_cfg(self.spec), **cfg}

    @property
    def default_cfg(self) -> dict:
        """timm's older name for `pretrained_cfg` (the same dict)."""
        return self.pretrained_cfg

    @default_cfg.setter
    def default_cfg(self, cfg: dict) -> None:
        self.pretrained_cfg = cfg

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass instead of keeping them
        (torch.utils.checkpoint, non-reentrant): less memory for one more forward of the blocks.
        Numerics are unchanged (drop path replays its random masks). Only in effect while
        gradients are being recorded."""
        self.grad_checkpointing = bool(enable)
        for stage in self.stages:
            stage.grad_checkpointing = bool(enable)
