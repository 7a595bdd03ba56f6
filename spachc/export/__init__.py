"""Export: ONNX and safetensors files that carry their spec, verified against a real runtime.

`onnx_export` and `verify` import torch; `inspect` (and spachc.model_io's header readers) do not, so
`spachc inspect` stays fast.
"""

import sys
import types


class _ExportPackage(types.ModuleType):
    """`spachc.export(...)` is the library's export (spachc.export.publish.export): the package
    is callable, so the name works both as the function and as the package of its parts."""

    def __call__(self, source, **kwargs):
        from .publish import export

        return export(source, **kwargs)


sys.modules[__name__].__class__ = _ExportPackage
