"""Live progress: a rich bar on a terminal, plain lines (every `log_every` steps) otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, epochs: int, log_every: int, enabled: bool = True):
        self.epochs, self.log_every, self.enabled = epochs, log_every, enabled
        self.console = Console(highlight=False, soft_wrap=True)
        self.live = enabled and sys.stdout.isatty()
        self._bar: Progress | None = None
        self._task = None

    def start_epoch(self, epoch: int, steps: int, first_step: int) -> None:
        self.epoch, self.steps = epoch, steps
        self._started, self._first = time.perf_counter(), first_step
        if self.live:
            self._bar = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TextColumn("{task.fields[stats]}"),
                                 TextColumn("eta"), TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("train", total=steps, completed=first_step,
                                            epoch=f"{epoch}/{self.epochs}", stats="")

    def step(self, step: int, loss: float, lr: float, images_per_second: float) -> None:
        """`step` is 1-based within the epoch."""
        if not self.enabled:
            return
        done = step - self._first
        eta = (time.perf_counter() - self._started) / max(done, 1) * (self.steps - step)
        stats = f"loss {loss:.4f}  lr {lr:.3g}  {images_per_second:,.0f} img/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=step, stats=stats)
        elif step % self.log_every == 0 or step == self.steps:
            print(f"epoch {self.epoch}/{self.epochs} step {step}/{self.steps} {stats}  eta {eta:.0f}s", flush=True)

    def end_epoch(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def say(self, text: str) -> None:
        if self.enabled:
            self.console.print(text)
            sys.stdout.flush()
