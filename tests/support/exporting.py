"""Shared helpers for the export, weights and inspect tests (no tests here).

Tiny specs of each block kind at input 32, and weights randomised everywhere: the zero
classifier head and 1e-4 layer scale of the initialisation would make every comparison
of logits trivially pass.
"""

from __future__ import annotations

import numpy as np
import torch

import spachc

SPECS = {
    "conv": "model t_conv\ninput 32\nclasses 5\nstem patch 4\nstage conv x2 dim 16\n",
    "trans": "model t_trans\ninput 32\nclasses 5\nstem patch 4\nstage trans x2 dim 16 heads 2\n",
    "mlp": "model t_mlp\ninput 32\nclasses 5\nstem patch 4\nstage conv x1 dim 8 -> down -> stage mlp x2\n",
    "shared": "model t_shared\ninput 32\nclasses 5\nstem patch 4\n"
              "stage conv x1 dim 8 -> down -> stage trans x3 heads 2 shared\n",
    "conv4": "model t_conv4\ninput 32\nclasses 5\nstem conv4 patch 4 hidden 8\n"
             "stage conv x1, trans x1 dim 16 heads 2\n",
    # the later kinds
    "pool_shift": "model t_pool_shift\ninput 32\nclasses 5\nstem patch 4\nstage conv x1, pool x1 dim 24 -> down -> stage shift x2\n",
    "sepconv": "model t_sepconv\ninput 32\nclasses 5\nstem patch 4\nstage sepconv x2 dim 16 shared\n",
    "smlp": "model t_smlp\ninput 32\nclasses 5\nstem patch 4\nstage conv x1 dim 8 -> down -> stage smlp x2\n",
}


def spec_of(kind: str) -> spachc.Spec:
    return spachc.parse(SPECS[kind], source=f"<{kind}>")


def randomised(model: torch.nn.Module, seed: int = 0, scale: float = 0.2) -> torch.nn.Module:
    """Perturb every parameter and the BatchNorm statistics so that every weight matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return model.eval()


def random_model(kind: str, seed: int = 0) -> tuple[spachc.Spec, torch.nn.Module]:
    spec = spec_of(kind)
    torch.manual_seed(seed)
    return spec, randomised(spachc.build(spec), seed)


def run_onnx(path, images: torch.Tensor) -> np.ndarray:
    """The graph's logits from onnxruntime's CPU provider."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"images": images.numpy()})[0]


def logits(model: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(images).numpy()


def onnx_metadata(path) -> dict[str, str]:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def input_dims(path) -> list:
    import onnx

    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return [d.dim_param or d.dim_value for d in dims]
