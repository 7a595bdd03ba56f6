"""spachc: a compiler from the .spach language to SPACH vision backbones in PyTorch.

    import spachc
    spec = spachc.load("hybrid_s")          # or a path, or spachc.parse(text)
    model = spachc.build(spec)              # torch.nn.Module
    spachc.summary(spec).params             # 63028584, without allocating weights
    backbone = spachc.build(spec, features_only=True)   # list of NCHW maps, timm's feature_info
    model = spachc.from_pretrained("my_model/")          # a folder written by `spachc save`

The front end (parse, load, to_text, summary, check) never imports torch; `build`,
`from_upstream` and `load_model` import it on first use.
"""

from __future__ import annotations

from ._version import __version__  # noqa: E402

from .lang.diagnostics import Diagnostic, SpecError  # noqa: E402
from .lang.frontend import check, load, parse  # noqa: E402
from .lang.ir import Spec, spec_hash  # noqa: E402
from .lang.printer import to_text  # noqa: E402
from .lang.summary import Summary, summary  # noqa: E402

__all__ = [
    "Diagnostic", "Spec", "SpecError", "Summary", "build", "check", "from_pretrained", "from_upstream", "load",
    "load_model", "parse",
    "spec_hash", "summary", "to_text", "__version__",
]


def build(spec: Spec, **kwargs):
    """Compile a Spec into an initialised `torch.nn.Module` (see spachc.nn.build.build)."""
    from .nn.build import build as _build

    return _build(spec, **kwargs)


def from_upstream(spec: Spec, state_dict) -> dict:
    """Map a checkpoint of the paper's code onto `build(spec).state_dict()` keys."""
    from .nn.upstream import from_upstream as _from_upstream

    return _from_upstream(spec, state_dict)


def load_model(path, **kwargs):
    """Rebuild a module from a spachc .safetensors file alone: its embedded spec, then its weights."""
    from .nn.weights import load_model as _load_model

    return _load_model(path, **kwargs)


def from_pretrained(path, **kwargs):
    """A model folder written by `spachc save` (or a spachc .safetensors) -> its module with
    weights, `.pretrained_cfg` and `.model_info`; `features_only=True, out_indices=...` give
    the backbone (see spachc.folder.from_pretrained)."""
    from .folder import from_pretrained as _from_pretrained

    return _from_pretrained(path, **kwargs)
