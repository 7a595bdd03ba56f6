"""The study plots, drawn with matplotlib's Agg backend (see spachc/train/plot.py).

- edf.png: the error EDF of each group (pycls, "Designing Network Design Spaces"): for each
  error e, the fraction of the group's networks with error below e. A curve further up and to
  the left is a better population; it compares design spaces, not single networks.
- pareto.png: best top-1 against MACs and against params (log scale over a decade or more), one colour per family,
  the Pareto front (no network both cheaper and more accurate) joined and ringed.
- choices.png: for every grouping key (family, stage count, each choice of the space), the
  top-1 of each network per value (dots) and the mean (bar).
"""

from __future__ import annotations

import math

from ..train.plot import new_figure, png_bytes
from .analysis import pareto_front, readable_label

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def edf_png(grouped: dict) -> bytes | None:
    if not grouped:
        return None
    rows, cols = _grid(len(grouped))
    figure = new_figure(360 * cols, 300 * rows)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax, (key, groups) in zip(axes, grouped.items()):
        for i, (value, members) in enumerate(groups.items()):
            errors = sorted(100.0 - r.best_top1 for r in members if r.best_top1 is not None)
            if not errors:
                continue
            xs = [errors[0]] + errors
            ys = [0.0] + [(j + 1) / len(errors) for j in range(len(errors))]
            ax.step(xs, ys, where="post", color=PALETTE[i % len(PALETTE)], linewidth=2,
                    label=f"{value} (n={len(errors)})")
        ax.set_title(f"error EDF by {readable_label(key)}", fontsize=10)
        ax.set_xlabel("top-1 error (%)")
        ax.set_ylabel("cumulative prob.")
        # Padding on both axes: a curve that reaches 1, or a group whose networks all share one
        # error, would otherwise be drawn on the frame and hidden under it.
        ax.set_ylim(-0.04, 1.06)
        ax.margins(x=0.06)
        ax.grid(True, color="#e1e1e1")
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes[len(grouped):]:
        ax.set_visible(False)
    figure.tight_layout()
    return png_bytes(figure)


def pareto_png(rows: list) -> bytes:
    from matplotlib.ticker import FuncFormatter, NullFormatter


    figure = new_figure(960, 380)
    families = sorted({r.family for r in rows})
    colour = {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(families)}
    for ax, cost, label in zip(figure.subplots(1, 2), ("macs", "params"), ("MACs per image", "parameters")):
        done = [r for r in rows if r.best_top1 is not None]
        for family in families:
            members = [r for r in done if r.family == family]
            if members:
                ax.scatter([getattr(r, cost) for r in members], [r.best_top1 for r in members], s=28,
                           color=colour[family], label=family, zorder=3)
        front = pareto_front(rows, cost)
        if front:
            ax.plot([getattr(r, cost) for r in front], [r.best_top1 for r in front], color="black", linewidth=1,
                    drawstyle="steps-post", zorder=2, label="Pareto front")
            ax.scatter([getattr(r, cost) for r in front], [r.best_top1 for r in front], s=90,
                       facecolors="none", edgecolors="black", zorder=4)
        costs = [getattr(r, cost) for r in done]
        wide = bool(costs) and max(costs) >= 10 * min(costs)  # a log axis shows no ticks within a decade
        if wide:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _si(v)))
        ax.margins(x=0.08, y=0.1)
        ax.set_xlabel(label + (" (log)" if wide else ""))
        ax.set_ylabel("best top-1 (%)")
        ax.set_title(f"top-1 against {label}", fontsize=10)
        ax.grid(True, color="#e1e1e1", which="both")
        ax.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return png_bytes(figure)


def _si(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"


def choices_png(grouped: dict) -> bytes | None:
    if not grouped:
        return None
    rows, cols = _grid(len(grouped))
    figure = new_figure(360 * cols, 280 * rows)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax, (key, groups) in zip(axes, grouped.items()):
        for i, (value, members) in enumerate(groups.items()):
            accs = [r.best_top1 for r in members if r.best_top1 is not None]
            if not accs:
                continue
            ax.bar(i, sum(accs) / len(accs), width=0.6, color=PALETTE[i % len(PALETTE)], alpha=0.35)
            offsets = [(j - (len(accs) - 1) / 2) * min(0.5 / max(len(accs), 1), 0.08) for j in range(len(accs))]
            ax.scatter([i + o for o in offsets], accs, s=14, color=PALETTE[i % len(PALETTE)], zorder=3)
        ax.set_xticks(range(len(groups)), list(groups), fontsize=8, rotation=20 if len(groups) > 3 else 0)
        done = [r.best_top1 for members in groups.values() for r in members if r.best_top1 is not None]
        if done:  # bars start at 0: a bar's height is its mean, so a cut axis would misstate the ratios
            ax.set_ylim(0, min(100.0, max(done) * 1.08 + 1.0))
        ax.set_title(f"top-1 by {readable_label(key)}", fontsize=10)
        ax.set_ylabel("best top-1 (%)")
        ax.grid(True, axis="y", color="#e1e1e1")
    for ax in axes[len(grouped):]:
        ax.set_visible(False)
    figure.tight_layout()
    return png_bytes(figure)
