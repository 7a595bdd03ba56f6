"""The training loop: one process or many (torchrun), exact resume, and safe stops.

Randomness: the data order comes from (seed, epoch), each sample's augmentation from
(seed, epoch, position), Mixup/CutMix and stochastic depth from (seed, step, rank). None
of it depends on what ran before, so a run resumed at any step boundary repeats the
uninterrupted run exactly, whatever the number of DataLoader workers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..lang.ir import Spec
from ..nn.build import build
from ..nn.layers import DropPath
from ..lang.printer import to_text
from ..lang.summary import summary
from ..precision import training_autocast
from . import checkpoint as ckpt
from .data import Dataset, EpochSampler, TransformedSplit, check_fit
from .distributed import backend, gather_strings, init_world, shutdown, sum_across, world_from_env
from .evaluate import autocast, eval_transform_config, evaluate, val_loader
from .mix import Mixer, soft_target_cross_entropy
from .plot import curves_png
from .progress import TrainProgress
from .recipe import Recipe, flag
from .schedule import lr_at
from .transforms import RandAugment, TrainTransform


class TrainingError(Exception):
    """A run that stopped before its end; `exit_code` tells scripts which failure class."""

    code = "E1000"
    exit_code = 1


class NonFiniteLoss(TrainingError):
    code, exit_code = "E1004", 3


class CheckpointWriteFailed(TrainingError):
    code, exit_code = "E1005", 4


class RanksDiverged(TrainingError):
    code, exit_code = "E1007", 5


class Interrupted(TrainingError):
    code = "E1006"

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class ResumeRefused(ValueError):
    """--resume (or its absence) does not fit the run folder."""


class SetupError(ValueError):
    """Options that cannot work together (device, batch size), found before training."""


@dataclass
class RunOptions:
    out: Path
    device: str = "auto"
    workers: int = 0
    compile: bool = False
    channels_last: bool = False
    resume: bool = False
    stop_after: int | None = None
    checkpoint_every: int = 0
    log_every: int = 50
    command: list[str] = field(default_factory=list)
    keep_world: bool = False  # leave the process group up after the run (a sweep trains several in one job)


# --- small pieces ----------------------------------------------------------------------------

def resolve_device(name: str, world_local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise SetupError("--device cuda: no CUDA device is available (use --device cpu or auto)")
        torch.cuda.set_device(world_local_rank)
        return torch.device("cuda", world_local_rank)
    if name != "cpu":
        raise SetupError(f"--device {name}: choose auto, cpu or cuda")
    return torch.device("cpu")


def amp_dtype(mode: str, device: torch.device, macs_per_step: int = 0) -> torch.dtype | None:
    if mode == "auto":  # the rule: spachc/precision.py
        return torch.bfloat16 if training_autocast(device, macs_per_step) else None
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[mode]


def worker_init(_worker_id: int) -> None:
    """Workers leave Ctrl-C (sent to the whole process group) to the main process, which
    checkpoints and then stops them. SIGTERM keeps its default so that they can be ended."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def set_drop_path(model: torch.nn.Module, rate: float) -> None:
    """Override the spec's stochastic depth: linear from 0 at the first block to `rate`."""
    paths = [m for m in model.modules() if isinstance(m, DropPath)]
    for i, m in enumerate(paths):
        m.rate = rate * i / (len(paths) - 1) if len(paths) > 1 else 0.0


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices and kernels; not norms, biases or layer scales (the 1-D tensors)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over the state_dict in key order: equal digests, equal weights."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class StopSignals:
    """SIGINT/SIGTERM set a flag; the loop checkpoints at the next step boundary."""

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, _frame):
        self.signum = signum

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)


# --- the trainer -------------------------------------------------------------------------------

class Trainer:
    def __init__(self, spec: Spec, dataset: Dataset, recipe: Recipe, options: RunOptions, max_params: int):
        check_fit(spec, dataset)
        if (options.out / ckpt.STATE_FILE).exists() and not options.resume:
            raise ResumeRefused(f"{options.out} already holds a run ({ckpt.STATE_FILE}); continue it with --resume "
                                f"or choose another --out")
        self.spec, self.data, self.recipe, self.opt = spec, dataset, recipe, options
        self.world = world_from_env()
        self.device = resolve_device(options.device, self.world.local_rank)
        init_world(self.world, self.device)
        if self.device.type == "cpu" and self.world.distributed:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", self.world.size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        self.amp = amp_dtype(recipe.amp, self.device, summary(spec).macs * recipe.batch_size)
        self.run_dir = options.out
        self.progress = TrainProgress(recipe.epochs, options.log_every, enabled=self.world.is_main)

        torch.manual_seed(recipe.seed)
        self.model = build(spec, max_params=max_params).to(self.device)
        if recipe.drop_path is not None:
            set_drop_path(self.model, recipe.drop_path)
        if options.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = None
        if recipe.ema_decay is not None:
            self.ema = copy.deepcopy(self.model).eval()
            self.ema.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(param_groups(self.model, recipe.weight_decay), lr=recipe.warmup_lr,
                                           betas=recipe.betas)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        self.total_batch = recipe.batch_size * self.world.size
        self.peak_lr = recipe.peak_lr(self.total_batch)
        self.steps_per_epoch = EpochSampler(len(dataset.train), recipe.batch_size, recipe.seed, 0, self.world.rank,
                                            self.world.size, recipe.repeated_aug).steps
        if self.steps_per_epoch == 0:
            raise SetupError(f"--batch-size {recipe.batch_size} is larger than the {len(dataset.train)} training "
                             f"images each of the {self.world.size} process(es) sees; lower it")
        self.eval_config = eval_transform_config(spec, dataset, recipe.eval_crop)
        self.train_transform = TrainTransform(
            spec.input, spec.channels, dataset.norm.for_channels(spec.channels), recipe.crop_scale,
            recipe.crop_ratio, recipe.hflip,
            None if recipe.randaugment == "off" else RandAugment.parse(recipe.randaugment), recipe.reprob)
        self.mixer = Mixer(spec.classes, recipe.mixup, recipe.cutmix, recipe.mix_prob, recipe.switch_prob,
                           recipe.label_smoothing)
        self.epoch, self.step_in_epoch = 0, 0
        self.partial = {"loss_sum": 0.0, "count": 0.0}
        self.history: list[dict] = []
        self.best_top1 = -1.0
        self.forward_model = self.model

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "format": ckpt.STATE_FORMAT, "version": ckpt.STATE_VERSION,
            "spec_hash": self.spec.hash, "spec_name": self.spec.name, "spec_text": to_text(self.spec),
            "recipe": self.recipe.to_json(), "world_size": self.world.size,
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.epoch * self.steps_per_epoch + self.step_in_epoch,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "history": self.history, "best_top1": self.best_top1, "partial": dict(self.partial),
            "torch_rng": torch.get_rng_state(),
        }

    def restore(self, state: dict) -> None:
        saved = Recipe.model_validate_json(state["recipe"])
        if saved != self.recipe:
            diff = [f"{flag(k)} {getattr(saved, k)!r} (now {getattr(self.recipe, k)!r})"
                    for k in Recipe.model_fields if getattr(saved, k) != getattr(self.recipe, k)]
            raise ResumeRefused(f"{self.run_dir}: the run was started with a different recipe: "
                                + "; ".join(diff) + ". Resume with the run's own settings (see run.json)")
        if state["world_size"] != self.world.size:
            raise ResumeRefused(f"{self.run_dir}: the run trained on {state['world_size']} process(es), not "
                                f"{self.world.size}; resume with the same --nproc_per_node for the same batches")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.history, self.best_top1 = list(state["history"]), state["best_top1"]
        self.partial = dict(state["partial"])
        torch.set_rng_state(state["torch_rng"])

    def _commit(self) -> None:
        """Write the resumable checkpoint; refuse to write non-finite weights."""
        if not ckpt.all_finite(self.model):
            raise NonFiniteLoss(f"weights became non-finite at epoch {self.epoch + 1} step {self.step_in_epoch}; "
                                f"stopped; the last good checkpoint is kept in {self.run_dir / ckpt.STATE_FILE}")
        self._write(lambda: ckpt.save_state(self.run_dir, self.state()))

    def _write(self, action) -> None:
        """Rank 0 writes; every rank learns whether it failed, so all stop together."""
        failure = None
        if self.world.is_main:
            try:
                action()
            except ckpt.CheckpointWriteError as exc:
                failure = exc
        failed = failure is not None
        if self.world.distributed:
            failed = sum_across(self.world, [float(failed)], self.device)[0] > 0
        if failed:
            kept = self.run_dir / ckpt.STATE_FILE
            previous = f"the previous checkpoint {kept} is intact" if kept.exists() else "no earlier checkpoint exists"
            reason = failure.strerror if failure is not None else "rank 0 could not write a checkpoint"
            raise CheckpointWriteFailed(f"{reason}; training stopped and {previous}")

    def _export(self, name: str) -> None:
        """Weights for eval and export (`NAME.safetensors`, `NAME.ema.safetensors`), derived from
        the live model: `best` is written before the commit, `last` after it."""
        for model, suffix in ((self.model, ""), (self.ema, ".ema")):
            if model is not None:
                self._write(lambda m=model, s=suffix: ckpt.save_model(
                    m, self.spec, self.run_dir / f"{name}{s}.safetensors", self.eval_config, self.epoch))

    def _write_logs(self) -> None:
        lines = "".join(json.dumps(h, sort_keys=True) + "\n" for h in self.history)
        self._write(lambda: ckpt.save_text(self.run_dir / "metrics.jsonl", lines))
        self._write(lambda: ckpt.save_bytes(self.run_dir / "curves.png", curves_png(self.history)))

    # -- running -------------------------------------------------------------------------------

    def prepare(self) -> None:
        existing = (self.run_dir / ckpt.STATE_FILE).exists()
        if self.opt.resume and existing:
            self.restore(ckpt.load_state(self.run_dir, self.spec))
            self.progress.say(f"resuming {self.run_dir} at epoch {self.epoch + 1} step {self.step_in_epoch}")
            if self.history:
                self._export("last")
                self._write_logs()
        elif self.opt.resume:
            self.progress.say(f"{self.run_dir}: no checkpoint yet, starting from the beginning")
        run_info = {"command": self.opt.command, "spec": to_text(self.spec), "spec_hash": self.spec.hash,
                    "recipe": json.loads(self.recipe.to_json()), "data": self.data.name, "world_size": self.world.size,
                    "total_batch": self.total_batch, "peak_lr": self.peak_lr, "device": str(self.device),
                    "backend": backend(self.world),
                    "amp": str(self.amp).removeprefix("torch.") if self.amp else "off",
                    "steps_per_epoch": self.steps_per_epoch}
        if not (self.opt.resume and existing):
            self._write(lambda: ckpt.save_text(self.run_dir / "run.json", json.dumps(run_info, indent=2) + "\n"))
        self.progress.say(f"{self.device}, {torch.get_num_threads()} threads per process, precision "
                          + ("fp32" if self.amp is None else f"{run_info['amp']} autocast (--amp {self.recipe.amp})"))
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward_model = DistributedDataParallel(self.model, device_ids=ids)
        if self.opt.compile:
            self.forward_model = torch.compile(self.forward_model)

    def run(self) -> dict:
        self.prepare()
        self.val = val_loader(self.data, self.eval_config, self.recipe.batch_size, self.opt.workers, self.world)
        last_epoch = self.recipe.epochs if self.opt.stop_after is None else min(self.recipe.epochs, self.opt.stop_after)
        with StopSignals() as signals:
            while self.epoch < last_epoch:
                self.train_epoch(signals)
                self.end_epoch()
        digests = gather_strings(self.world, weights_digest(self.model))
        if len(set(digests)) > 1:
            raise RanksDiverged(f"ranks ended with different weights: {digests}")
        result = {"epochs_done": self.epoch, "epochs": self.recipe.epochs, "best_top1": self.best_top1,
                  "last": self.history[-1] if self.history else None, "weights_sha256_per_rank": digests}
        self._write(lambda: ckpt.save_text(self.run_dir / "result.json", json.dumps(result, indent=2) + "\n"))
        if not self.opt.keep_world:
            shutdown(self.world)
        return result

    def _loader(self):
        sampler = EpochSampler(len(self.data.train), self.recipe.batch_size, self.recipe.seed, self.epoch,
                               self.world.rank, self.world.size, self.recipe.repeated_aug,
                               start_step=self.step_in_epoch)
        dataset = TransformedSplit(self.data.train, self.train_transform)
        workers = self.opt.workers
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                           worker_init_fn=worker_init if workers else None,
                                           pin_memory=self.device.type == "cuda")

    def train_epoch(self, signals: StopSignals) -> None:
        self.model.train()
        self.progress.start_epoch(self.epoch + 1, self.steps_per_epoch, self.step_in_epoch)
        started, seen = time.perf_counter(), 0
        batches = iter(self._loader())
        try:
            for images, labels in batches:
                loss = self.train_step(images, labels)
                self.step_in_epoch += 1
                seen += labels.shape[0]
                stop = signals.signum is not None
                bad, stop = self._agree(not np.isfinite(loss), stop)
                if bad:
                    raise NonFiniteLoss(
                        f"the loss is {loss} at epoch {self.epoch + 1} step {self.step_in_epoch}; training stopped. "
                        f"The last good checkpoint is kept in {self.run_dir / ckpt.STATE_FILE} "
                        f"(lower --lr, or check the data)")
                self.partial["loss_sum"] += loss * labels.shape[0]
                self.partial["count"] += labels.shape[0]
                rate = seen * self.world.size / max(time.perf_counter() - started, 1e-9)
                self.progress.step(self.step_in_epoch, loss, self.optimizer.param_groups[0]["lr"], rate)
                if stop:
                    self._commit()
                    name = signal.Signals(signals.signum or signal.SIGTERM).name
                    raise Interrupted(f"{name}: checkpoint saved at epoch {self.epoch + 1} step {self.step_in_epoch} "
                                      f"in {self.run_dir}; continue with --resume", signals.signum or signal.SIGTERM)
                every = self.opt.checkpoint_every
                if every and self.step_in_epoch % every == 0 and self.step_in_epoch < self.steps_per_epoch:
                    self._commit()
        finally:
            del batches  # stops the worker processes now, not when a traceback lets go of them
            self.progress.end_epoch()

    def _agree(self, bad: bool, stop: bool) -> tuple[bool, bool]:
        if not self.world.distributed:
            return bad, stop
        summed = sum_across(self.world, [float(bad), float(stop)], self.device)
        return summed[0] > 0, summed[1] > 0

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        r = self.recipe
        global_step = self.epoch * self.steps_per_epoch + self.step_in_epoch
        torch.manual_seed(step_seed(r.seed, global_step, self.world.rank, 1))  # stochastic depth
        lr = lr_at(global_step, self.steps_per_epoch, r, self.peak_lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        if self.opt.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if self.mixer.active:
            images, targets = self.mixer(images, labels, np.random.default_rng(step_seed(r.seed, global_step,
                                                                                        self.world.rank, 2)))
        with autocast(self.device, self.amp):
            logits = self.forward_model(images)
        if self.mixer.active:
            loss = soft_target_cross_entropy(logits, targets)
        else:
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=r.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if r.clip_grad is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), r.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self._update_ema(r.ema_decay)
        return float(loss.detach())

    @torch.no_grad()
    def _update_ema(self, decay: float) -> None:
        ema = list(self.ema.state_dict().values())
        live = list(self.model.state_dict().values())
        floats = [(e, m) for e, m in zip(ema, live) if e.is_floating_point()]
        torch._foreach_lerp_([e for e, _ in floats], [m for _, m in floats], 1.0 - decay)
        for e, m in zip(ema, live):
            if not e.is_floating_point():
                e.copy_(m)

    def end_epoch(self) -> None:
        result = evaluate(self.model, self.val, self.device, self.world, self.amp, self.opt.channels_last)
        train = sum_across(self.world, [self.partial["loss_sum"], self.partial["count"]], self.device)
        self.epoch += 1
        row = {"epoch": self.epoch, "step": self.epoch * self.steps_per_epoch,
               "train_loss": train[0] / max(train[1], 1.0), "lr": self.optimizer.param_groups[0]["lr"],
               "val_top1": result.top1, "val_top5": result.top5, "val_loss": result.loss,
               "val_images": result.images}
        if self.ema is not None:
            ema = evaluate(self.ema, self.val, self.device, self.world, self.amp, self.opt.channels_last)
            row.update(val_top1_ema=ema.top1, val_top5_ema=ema.top5, val_loss_ema=ema.loss)
        self.history.append(row)
        best = result.top1 > self.best_top1
        if best:
            self.best_top1 = result.top1
        self.step_in_epoch = 0
        self.partial = {"loss_sum": 0.0, "count": 0.0}
        if best:  # before the commit: a crash in between re-runs the epoch and rewrites it
            self._export("best")
        self._commit()
        self._export("last")
        self._write_logs()
        ema_text = f"  ema top-1 {row['val_top1_ema']:.2f}%" if self.ema is not None else ""
        self.progress.say(f"epoch {self.epoch}/{self.recipe.epochs}  train loss {row['train_loss']:.4f}  "
                          f"val loss {result.loss:.4f}  top-1 {result.top1:.2f}%  top-5 {result.top5:.2f}%"
                          f"{ema_text}" + ("  (best)" if best else ""))
