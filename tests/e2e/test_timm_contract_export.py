"""timm's model contract, its torch.export round trip: every spec of tests/unit/test_timm_contract.py
exports with torch.export and the exported program computes what the module does."""

from __future__ import annotations

import torch
from support.timm_specs import SPECS, images, made, spec  # noqa: F401  (spec: a fixture)


def test_torch_export_round_trip(spec, tmp_path):
    """torch.export the classifier, save and load the program, and get the eager logits back."""
    model = made(spec).eval()
    with torch.no_grad():
        model.head.weight.normal_()  # a zero head would make any program look right
    x = images(spec, batch=2)
    program = torch.export.export(model, (x,))
    torch.export.save(program, tmp_path / "model.pt2")
    loaded = torch.export.load(tmp_path / "model.pt2").module()
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), rtol=1e-5, atol=1e-5)
        other = images(spec, batch=2, seed=7)
        assert torch.allclose(loaded(other), model(other), rtol=1e-5, atol=1e-5)
