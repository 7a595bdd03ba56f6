"""Hypothesis strategies: random valid IRs, and random layouts of their text."""

from __future__ import annotations

from hypothesis import strategies as st

from spachc.lang.ir import Spec, drop_path_rates, halve, stem_grid

# Written out here, not read from the registry: the paper's kinds and the four later ones
KINDS = ["conv", "trans", "mlp", "pool", "shift", "smlp", "sepconv"]
PARAMETER_FREE = {"pool", "shift"}

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.+]{0,10}", fullmatch=True)
RATIOS = st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 2.75, 1e-1 * 7])


@st.composite
def specs(draw) -> Spec:
    n_stages = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["conv1", "conv4"]))
    patch = draw(st.sampled_from([2, 4, 8] if kind == "conv4" else [1, 2, 4, 8]))
    scale = 2 ** (n_stages - 1)
    gh, gw = draw(st.integers(1, 3)) * scale, draw(st.integers(1, 3)) * scale
    top = {
        "name": draw(NAMES), "input": (gh * patch, gw * patch), "channels": draw(st.integers(1, 4)),
        "classes": draw(st.integers(1, 20)),
        "stem": {"kind": kind, "patch": patch, "hidden": draw(st.sampled_from([8, 16, 64])) if kind == "conv4" else None},
        "drop_path": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5])),
    }
    stage_groups = [draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 3)),
                                  min_size=1, max_size=3)) for _ in range(n_stages)]
    schedule = draw(st.sampled_from(["linear", "constant"]))
    rates = iter(drop_path_rates(top["drop_path"], sum(r for gs in stage_groups for _, r in gs), schedule))
    grid, stages, dim = stem_grid(top["input"], patch), [], None
    for i, groups in enumerate(stage_groups):
        if i:
            grid = halve(grid)
        kinds = {k for k, _ in groups}
        heads = draw(st.sampled_from([1, 2, 4]))
        dim = draw(st.sampled_from([8, 16, 24, 32])) if i == 0 or draw(st.booleans()) else 2 * dim
        if dim % heads:
            heads = 1
        channel_ratio = draw(RATIOS)
        token_ratio = draw(st.sampled_from([0.5, 1.0, 2.0])) if "mlp" in kinds else None
        if token_ratio is not None and int(grid[0] * grid[1] * token_ratio) < 1:
            token_ratio = 1.0
        non_conv = kinds - {"conv"}
        stages.append({
            "groups": [{"kind": k, "repeat": r} for k, r in groups], "dim": dim, "grid": grid,
            "heads": heads if "trans" in kinds else None, "channel_ratio": channel_ratio,
            "token_ratio": token_ratio, "cpe": True if "conv" in kinds else draw(st.booleans()),
            "layerscale": draw(st.sampled_from([None, 1e-4, 1e-6, 0.1])) if non_conv else None,
            "qkv_bias": draw(st.booleans()) if "trans" in kinds else None,
            "shared": len(non_conv) == 1 and not non_conv & PARAMETER_FREE and draw(st.booleans()),
            "channel_hidden": int(dim * channel_ratio),
            "token_hidden": int(grid[0] * grid[1] * token_ratio) if token_ratio is not None else None,
            "blocks": [{"kind": k, "drop_path": next(rates)} for k, r in groups for _ in range(r)],
        })
    return Spec.model_validate({**top, "stages": stages})


SEPARATORS = [" ", " ", "  ", "\n", "\n  ", "\t", "\n\n"]


@st.composite
def layouts(draw, text: str) -> tuple[str, list[str]]:
    """The same tokens with random whitespace and comments (own-line and trailing) between them."""
    tokens = text.split()
    comments: list[str] = []
    out = []
    if draw(st.booleans()):
        comments.append("# header")
        out.append("# header\n")
    for token in tokens:
        out.append(token)
        choice = draw(st.integers(0, 9))
        if choice == 0:
            comments.append(f"# c{len(comments)}")
            out.append(f"  {comments[-1]}\n")
        elif choice == 1:
            comments.append(f"# c{len(comments)} own line")
            out.append(f"\n{comments[-1]}\n")
        else:
            out.append(draw(st.sampled_from(SEPARATORS)))
    if draw(st.booleans()):
        comments.append("# trailer")
        out.append("\n# trailer\n")
    return "".join(out), comments
