"""Export: ONNX and safetensors files that carry their spec, verified against a real runtime.

`onnx_export` and `verify` import torch; `safetensors_header` and `inspect` do not, so
`spachc inspect` stays fast.
"""
