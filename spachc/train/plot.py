"""curves.png: loss and accuracy against epoch, drawn with PIL (no plotting library)."""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, MARGIN = 640, 300, 48
COLOURS = {"train_loss": (31, 119, 180), "val_loss": (255, 127, 14), "val_top1": (44, 160, 44),
           "val_top5": (148, 103, 189), "val_top1_ema": (214, 39, 40)}


def _nice_range(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _panel(draw: ImageDraw.ImageDraw, top: int, title: str, epochs: list[int], series: dict[str, list[float]],
           font: ImageFont.ImageFont) -> None:
    left, right, bottom = MARGIN, WIDTH - 16, top + HEIGHT - MARGIN
    upper = top + 24
    draw.text((left, top + 4), title, fill=(0, 0, 0), font=font)
    draw.rectangle((left, upper, right, bottom), outline=(0, 0, 0))
    values = [v for vs in series.values() for v in vs if math.isfinite(v)]
    if not values or not epochs:
        return
    lo, hi = _nice_range(values)
    first, last = min(epochs), max(max(epochs), min(epochs) + 1)

    def xy(epoch: float, value: float) -> tuple[float, float]:
        x = left + (epoch - first) / (last - first) * (right - left)
        y = bottom - (value - lo) / (hi - lo) * (bottom - upper)
        return x, y

    for i in range(5):
        value = lo + (hi - lo) * i / 4
        y = xy(first, value)[1]
        draw.line((left, y, right, y), fill=(225, 225, 225))
        draw.text((2, y - 5), f"{value:.3g}", fill=(80, 80, 80), font=font)
    for epoch in sorted(set(epochs)):
        x = xy(epoch, lo)[0]
        if len(epochs) <= 20 or epoch % max(1, len(epochs) // 10) == 0:
            draw.text((x - 3, bottom + 4), str(epoch), fill=(80, 80, 80), font=font)
    for n, (name, vs) in enumerate(series.items()):
        colour = COLOURS.get(name, (0, 0, 0))
        points = [xy(e, v) for e, v in zip(epochs, vs) if math.isfinite(v)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        draw.text((left + 160 + 110 * n, top + 4), name, fill=colour, font=font)
    draw.text((right - 40, bottom + 16), "epoch", fill=(80, 80, 80), font=font)


def curves_png(history: list[dict]) -> bytes:
    """PNG bytes of two panels: losses, and validation accuracy (%), against epoch."""
    image = Image.new("RGB", (WIDTH, 2 * HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    epochs = [h["epoch"] for h in history]
    losses = {k: [h[k] for h in history] for k in ("train_loss", "val_loss") if all(k in h for h in history)}
    accuracy = {k: [h[k] for h in history] for k in ("val_top1", "val_top5", "val_top1_ema")
                if history and all(k in h for h in history)}
    _panel(draw, 0, "loss", epochs, losses, font)
    _panel(draw, HEIGHT, "validation accuracy (%)", epochs, accuracy, font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
