"""curves.png: loss and accuracy against epoch, drawn with matplotlib's Agg backend.

Figures are made with the object API (`Figure` + `FigureCanvasAgg`), never pyplot, so that
no global state or display backend is involved and the PNG bytes depend on the data alone
(no timestamp or software tag in the file): a resumed run rewrites the same curves.png.
"""

from __future__ import annotations

import io

WIDTH, HEIGHT, DPI = 640, 300, 100
# matplotlib's default cycle (tab10), fixed per series so a series keeps its colour across plots.
COLOURS = {"train_loss": "#1f77b4", "val_loss": "#ff7f0e", "val_top1": "#2ca02c",
           "val_top5": "#9467bd", "val_top1_ema": "#d62728"}


def new_figure(width: int, height: int):
    """A Figure on an Agg canvas, `width` x `height` pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def curves_png(history: list[dict]) -> bytes:
    """PNG bytes of two panels: losses, and validation accuracy (%), against epoch."""
    figure = new_figure(WIDTH, 2 * HEIGHT)
    loss_axes, accuracy_axes = figure.subplots(2, 1, sharex=True)
    epochs = [h["epoch"] for h in history]
    panels = ((loss_axes, "loss", ("train_loss", "val_loss")),
              (accuracy_axes, "validation accuracy (%)", ("val_top1", "val_top5", "val_top1_ema")))
    for axes, title, keys in panels:
        axes.set_title(title, loc="left", fontsize=10)
        axes.grid(True, color="#e1e1e1")
        for key in keys:
            if history and all(key in h for h in history):
                axes.plot(epochs, [h[key] for h in history], marker="o", markersize=4, linewidth=2,
                          color=COLOURS[key], label=key)
        if axes.lines:
            axes.legend(loc="best", fontsize=8)
    accuracy_axes.set_xlabel("epoch")
    if epochs:
        accuracy_axes.xaxis.get_major_locator().set_params(integer=True)
    figure.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.08, hspace=0.18)  # fixed: no layout pass
    return png_bytes(figure)
