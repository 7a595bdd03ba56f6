"""Training and evaluation: data, augmentation, the SPACH recipe, the loop, checkpoints.

Everything random in a run is derived from (seed, epoch, step, rank, sample position),
never from a stateful generator carried across steps, so a run stopped at any step
boundary and resumed gives the same weights bit for bit on CPU.

`spachc.train(...)` is the library's training (spachc.train.start.train): the package is
callable, as spachc.export is, so the name is both the function and the package of its parts.
Nothing here imports torch; the call does.
"""

import sys
import types


class _TrainPackage(types.ModuleType):
    def __call__(self, spec=None, **kwargs):
        """Train SPEC on DATA into a run folder (or resume one); returns a TrainReport.
        The keyword arguments mirror `spachc train`'s options: see spachc.train.start.train."""
        from .start import train

        return train(spec, **kwargs)


sys.modules[__name__].__class__ = _TrainPackage
