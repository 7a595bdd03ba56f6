"""spachc: a compiler from the .spach language to SPACH vision backbones in PyTorch.

    import spachc
    spec = spachc.load("hybrid_s")          # or a path, or spachc.parse(text)
    model = spachc.build(spec)              # torch.nn.Module
    spachc.summary(spec).params             # 63028584, without allocating weights
    backbone = spachc.build(spec, features_only=True)   # list of NCHW maps, timm's feature_info
    model = spachc.from_pretrained("my_model/")          # a folder written by `spachc save`
    model = spachc.create_model("hybrid_xs", num_classes=7)  # any model source (spachc.model_io)
    spachc.save(model, "my_model/", labels=[...])        # a model folder predict and eval use
    run = spachc.train("my.spach", data="digits", recipe="quick", epochs=1, out="runs/my")  # TrainReport
    spachc.evaluate(run.run_dir / "best.safetensors", data="digits").top1                 # EvalReport
    spachc.sweep.sample("battle", 2, out="studies/s"); spachc.sweep.run("studies/s", ...)  # docs/library.md

The front end (parse, load, to_text, summary, check) never imports torch; `create_model`,
`build`, `from_upstream`, `load_model`, `save`, `train`, `evaluate` and `sweep.run` import it on
first use. `build`, `from_pretrained` and `load_model` are thin aliases of `create_model`.
`train`, `evaluate` and the `sweep` functions do the work of the commands of those names and
return a report (a dataclass) that the command prints.
"""

from __future__ import annotations

from ._version import __version__  # noqa: E402

from .diagnostics import Diagnostic, SpecError  # noqa: E402
from .lang.frontend import check, load, parse  # noqa: E402
from .lang.ir import Spec, spec_hash  # noqa: E402
from .lang.printer import to_text  # noqa: E402
from .lang.summary import Summary, summary  # noqa: E402
import importlib as _importlib  # noqa: E402

export = _importlib.import_module(f"{__name__}.export")  # a callable package: spachc.export(...) publishes verified files
train = _importlib.import_module(f"{__name__}.train")  # a callable package: spachc.train(...) trains a spec
sweep = _importlib.import_module(f"{__name__}.sweep")  # spachc.sweep.sample/new/run/report/search

__all__ = [
    "Diagnostic", "Spec", "SpecError", "Summary", "build", "check", "create_model", "evaluate", "from_pretrained",
    "from_upstream", "load", "load_model", "parse", "save",
    "spec_hash", "summary", "sweep", "to_text", "train", "__version__",
]


def create_model(source, *, pretrained=None, num_classes=None, features_only=False, out_indices=None,
                 overrides=(), **kwargs):
    """A module from any model source: a zoo name, a .spach path, a Spec, a weights file, a
    model folder, a run folder, or (as `pretrained`) an official .pth for a spec source.
    `num_classes` other than the spec's re-initialises the classifier (0: pooled features).
    See spachc.model_io.create."""
    from .model_io.create import create_model as _create_model

    return _create_model(source, pretrained=pretrained, num_classes=num_classes, features_only=features_only,
                         out_indices=out_indices, overrides=overrides, **kwargs)


def save(model, folder, labels=None, preprocessing=None, **kwargs):
    """Write a model folder (config.json + model.safetensors) recording `labels` and
    `preprocessing` (timm's pretrained_cfg fields), which predict and eval then use."""
    from .model_io.create import save as _save

    return _save(model, folder, labels, preprocessing, **kwargs)


def build(spec, **kwargs):
    """Compile a Spec (or any model source, see create_model) into a `torch.nn.Module`."""
    return create_model(spec, **kwargs)


def from_upstream(spec: Spec, state_dict) -> dict:
    """Map a checkpoint of the paper's code onto `build(spec).state_dict()` keys."""
    from .nn.upstream import from_upstream as _from_upstream

    return _from_upstream(spec, state_dict)


def load_model(path, **kwargs):
    """Rebuild a module from a spachc .safetensors file alone: its embedded spec, then its weights."""
    return create_model(path, **kwargs)


def from_pretrained(path, **kwargs):
    """A model folder written by `spachc save` (or any source carrying weights) -> its module
    in eval mode with `.pretrained_cfg` and `.model_info`; `features_only=True, out_indices=...`
    give the backbone (see spachc.model_io.create.from_pretrained)."""
    from .model_io.create import from_pretrained as _from_pretrained

    return _from_pretrained(path, **kwargs)


def evaluate(spec, **kwargs):
    """Evaluate weights on a dataset's validation split -> an EvalReport (top1, top5, loss,
    images_per_second, ...; `to_dict()` is `spachc eval --json`). `spec` is a weights file, model
    or run folder, or a spec with `weights=`; the keyword arguments mirror `spachc eval`'s options
    (see spachc.train.eval_run.evaluate)."""
    from .train.eval_run import evaluate as _evaluate

    return _evaluate(spec, **kwargs)
