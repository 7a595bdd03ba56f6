"""The training loop, read top to bottom: run -> epoch -> step, then what they use.

One process or many (torchrun), exact resume, and safe stops. Persistence is the run
folder's job (run_folder.RunFolder, whose single source of truth is state.pt); device and
autocast are spachc.runtime.precision's, DataLoader workers' signals spachc.runtime.stopping's,
the AdamW kernel spachc.train.optimizer's.

Randomness: the data order comes from (seed, epoch), each sample's augmentation from
(seed, epoch, position), Mixup/CutMix and stochastic depth from (seed, step, rank). None
of it depends on what ran before, so a run resumed at any step boundary repeats the
uninterrupted run exactly, whatever the number of DataLoader workers.
"""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..diagnostics import UserError
from ..diagnostics.codes import E1003, E1004, E1006, E1007, E1008
from ..lang.ir import Spec
from ..lang.printer import to_text
from ..lang.summary import summary
from ..nn.build import build
from ..nn.layers import DropPath
from ..runtime.precision import amp_dtype, autocast, precision_name, resolve_device
from ..runtime.stopping import worker_init
from .optimizer import fused_adamw
from ..datasets.data import (Dataset, EpochSampler, TransformedSplit, check_fit, data_fingerprint, data_location,
                             fingerprint_difference)
from ..datasets.device_batches import collate_train, finish_batch
from .distributed import backend, gather_strings, init_world, shutdown, sum_across, world_from_env
from .evaluate import eval_transform_config, evaluate, val_loader
from .mix import Mixer, soft_target_cross_entropy
from .progress import TrainProgress
from .recipe import Recipe, flag
from .run_folder import (STATE_FORMAT, STATE_VERSION, CheckpointMalformed, CheckpointWriteFailed, RunFolder,
                         all_finite, check_state_spec)
from .schedule import lr_at
from ..datasets.transforms import RandAugment, TrainTransform
from .tuning import freeze, param_groups

__all__ = ["CheckpointWriteFailed", "Interrupted", "NonFiniteLoss", "RanksDiverged", "ResumeRefused", "RunOptions",
           "SetupError", "Trainer", "TrainingError"]


class TrainingError(UserError):
    """A run that stopped before its end; `exit_code` tells scripts which failure class."""


class NonFiniteLoss(TrainingError):
    code, exit_code = E1004, 3


class RanksDiverged(TrainingError):
    code, exit_code = E1007, 5


class Interrupted(TrainingError):
    code, severity = E1006, "stopped"

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class ResumeRefused(UserError):
    """--resume (or its absence) does not fit the run folder."""

    code = E1003


class SetupError(UserError):
    """Options that cannot work together (batch size against the data), found before training."""

    code = E1008


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
    init: object = None  # --init: a train.init.InitPlan applied to the new model (not on resume)


class Trainer:
    def __init__(self, spec: Spec, dataset: Dataset, recipe: Recipe, options: RunOptions, max_params: int):
        self.spec, self.data, self.recipe, self.opt = spec, dataset, recipe, options
        self.world = world_from_env()
        self.folder = RunFolder(options.out, self.world)
        if self.folder.has_state() and not options.resume:
            raise ResumeRefused(f"{options.out} already holds a run ({self.folder.state_path.name})",
                                hint=f"continue it with `spachc train --resume --out {options.out}`, "
                                     f"or choose another --out")
        # A resume checks everything the run recorded before anything else, so that no other
        # error's hint (e.g. E1001's `--set classes=N`) sends the user into a refused resume.
        self.saved = self.folder.read_state() if options.resume and self.folder.has_state() else None
        if self.saved is not None:
            self.check_resume(self.saved)
        check_fit(spec, dataset)
        self.device = resolve_device(options.device, self.world.local_rank)
        self.folder.device = self.device
        init_world(self.world, self.device)
        if self.device.type == "cpu" and self.world.distributed:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", self.world.size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        self.amp = amp_dtype(recipe.amp, self.device, summary(spec).macs * recipe.batch_size)
        if self.saved is not None:
            self.check_resume_precision(self.saved)
        self.progress = TrainProgress(recipe.epochs, options.log_every, enabled=self.world.is_main)

        torch.manual_seed(recipe.seed)
        self.model = build(spec, max_params=max_params).to(self.device)
        self.init_record = None
        if options.init is not None:  # --init: trained weights where they fit (spachc/train/init.py)
            options.init.apply(self.model)
            self.init_record = options.init.record()
        frozen = freeze(self.model, recipe.freeze, spec)
        if frozen:  # say what --freeze took, in tensors and parameters, before the first step
            sizes = {name: p.numel() for name, p in self.model.named_parameters()}
            fixed = sum(sizes[name] for name in frozen)
            self.progress.say(f"--freeze {recipe.freeze}: {len(frozen)} tensors frozen ({fixed:,} of "
                              f"{sum(sizes.values()):,} parameters); {sum(sizes.values()) - fixed:,} parameters train")
        if recipe.drop_path is not None:
            set_drop_path(self.model, recipe.drop_path)
        if options.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = None
        if recipe.ema_decay is not None:
            self.ema = copy.deepcopy(self.model).eval()
            self.ema.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(param_groups(self.model, recipe.weight_decay, recipe.layer_decay),
                                           lr=recipe.warmup_lr,
                                           betas=recipe.betas, fused=fused_adamw(self.device, self.model))
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
        self.data_wait_s, self.train_s = 0.0, 0.0  # of the current epoch (input_bound_note)
        self.history: list[dict] = []
        self.best_top1 = -1.0
        self.forward_model = self.model
        self.fingerprint = data_fingerprint(dataset)
        self.skipped: list[str] = []  # this epoch's unreadable images (training and validation)

    # -- run -> epoch -> step ------------------------------------------------------------------

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
        self.folder.write_json("result.json", result)
        if not self.opt.keep_world:
            shutdown(self.world)
        return result

    def train_epoch(self, signals: StopSignals) -> None:
        self.model.train()
        self.progress.start_epoch(self.epoch + 1, self.steps_per_epoch, self.step_in_epoch)
        started, seen = time.perf_counter(), 0
        self.data_wait_s = 0.0  # time this epoch spent waiting for the loader (input_bound_note)
        batches = iter(self._loader())
        try:
            fetch = time.perf_counter()
            while True:
                try:
                    images, labels, erase, unreadable = next(batches)
                except StopIteration:
                    break
                except RuntimeError:  # a DataLoader worker died
                    if signals.signum is None:
                        raise
                    self._stop(signals)  # ended by the stop signal itself: a clean stop at this step boundary
                self.data_wait_s += time.perf_counter() - fetch
                self.skipped += unreadable
                if self._no_batch(images is None):  # not one image of a batch could be read: nothing to learn from
                    self.step_in_epoch += 1
                    fetch = time.perf_counter()
                    continue
                loss = self.train_step(images, labels, erase)
                self.step_in_epoch += 1
                seen += labels.shape[0]
                bad, stop = self._agree(not np.isfinite(loss), signals.signum is not None)
                if bad:
                    raise NonFiniteLoss(
                        f"the loss is {loss} at epoch {self.epoch + 1} step {self.step_in_epoch}; training stopped. "
                        f"The last good checkpoint is kept in {self.folder.state_path}", hint="lower --lr, or check "
                        "the data")
                self.partial["loss_sum"] += loss * labels.shape[0]
                self.partial["count"] += labels.shape[0]
                rate = seen * self.world.size / max(time.perf_counter() - started, 1e-9)
                self.progress.step(self.step_in_epoch, loss, self.optimizer.param_groups[-1]["lr"], rate)
                if stop:
                    self._stop(signals)
                every = self.opt.checkpoint_every
                if every and self.step_in_epoch % every == 0 and self.step_in_epoch < self.steps_per_epoch:
                    self.commit()
                fetch = time.perf_counter()
        finally:
            self.train_s = time.perf_counter() - started
            del batches  # stops the worker processes now, not when a traceback lets go of them
            self.progress.end_epoch()

    def _stop(self, signals: StopSignals) -> None:
        """Checkpoint at this step boundary and stop with E1006 (exit 128 + the signal)."""
        self.commit()
        signum = signals.signum or signal.SIGTERM
        raise Interrupted(f"{signal.Signals(signum).name}: checkpoint saved at epoch {self.epoch + 1} "
                          f"step {self.step_in_epoch} in {self.folder.path}; continue with "
                          f"`spachc train --resume --out {self.folder.path}`", signum)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, erase: torch.Tensor | None) -> float:
        """One optimiser step on a uint8 batch (finished on the device: normalised, erased)."""
        r = self.recipe
        global_step = self.epoch * self.steps_per_epoch + self.step_in_epoch
        torch.manual_seed(step_seed(r.seed, global_step, self.world.rank, 1))  # stochastic depth
        lr = lr_at(global_step, self.steps_per_epoch, r, self.peak_lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)  # --layer-decay (spachc/train/tuning.py)
        images = finish_batch(images, erase, self.train_transform.norm, self.device)
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

    def end_epoch(self) -> None:
        """Validate, record the epoch, and persist: best weights, the commit, last weights, logs."""
        result = evaluate(self.model, self.val, self.device, self.world, self.amp, self.opt.channels_last)
        if self.ema is not None:
            ema = evaluate(self.ema, self.val, self.device, self.world, self.amp, self.opt.channels_last)
        skipped = sorted(set(self.skipped) | set(result.skipped))  # distinct files (repeated augmentation reads twice)
        if self.world.distributed:  # ... on several ranks too: the union, not a sum of the ranks' counts
            skipped = sorted({line for text in gather_strings(self.world, "\n".join(skipped))
                              for line in text.split("\n") if line})
        train = sum_across(self.world, [self.partial["loss_sum"], self.partial["count"]], self.device)
        self.epoch += 1
        row = {"epoch": self.epoch, "step": self.epoch * self.steps_per_epoch,
               # the last group holds the head, at the schedule's lr whatever --layer-decay scales
               "train_loss": train[0] / max(train[1], 1.0), "lr": self.optimizer.param_groups[-1]["lr"],
               "val_top1": result.top1, "val_top5": result.top5, "val_loss": result.loss,
               "val_images": result.images}
        if skipped:
            row["skipped_images"] = len(skipped)
        if self.ema is not None:
            row.update(val_top1_ema=ema.top1, val_top5_ema=ema.top5, val_loss_ema=ema.loss)
        self.history.append(row)
        best = result.top1 > self.best_top1
        if best:
            self.best_top1 = result.top1
        self.step_in_epoch = 0
        self.partial = {"loss_sum": 0.0, "count": 0.0}
        if best:  # before the commit: a crash in between re-runs the epoch and rewrites it
            self.export_weights("best")
        self.commit()
        self.export_weights("last")
        self.folder.write_logs(self.history)
        self.progress.say(epoch_line(row, self.recipe.epochs, best) + input_bound_note(self.data_wait_s, self.train_s))
        if skipped:
            self.progress.say(f"warning: skipped {len(skipped)} image(s) that cannot be read this epoch "
                              f"(left out of training and validation): {'; '.join(skipped[:3])}")
        self.skipped = []

    # -- before the first step -----------------------------------------------------------------

    def prepare(self) -> None:
        """Restore from the run folder (or start it), then wrap the model for DDP / compile."""
        resuming = self.saved is not None
        if resuming:
            if not self.saved["checksum_verified"]:
                self.progress.say(f"note: {self.folder.state_path} has no checksum (written by an earlier spachc); "
                                  "resumed without verifying it")
            self.restore(self.saved)
            self.saved = None
            if self.epoch >= self.recipe.epochs:
                self.progress.say(f"{self.folder.path}: the run is finished ({self.epoch} of {self.recipe.epochs} "
                                  f"epochs, best top-1 {self.best_top1:.2f}%); nothing to resume")
            else:
                self.progress.say(f"resuming {self.folder.path} at epoch {self.epoch + 1} step {self.step_in_epoch}")
            if self.history:
                self.export_weights("last")
                self.folder.write_logs(self.history)
        elif self.opt.resume:
            self.progress.say(f"{self.folder.path}: no checkpoint yet, starting from the beginning")
        info = self.run_info()
        if not resuming:
            self.folder.write_json("run.json", info)
        self.progress.say(f"{self.device}, {torch.get_num_threads()} threads per process, precision "
                          + ("fp32" if self.amp is None else f"{info['amp']} autocast (--amp {self.recipe.amp})"))
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward_model = DistributedDataParallel(self.model, device_ids=ids)
        if self.opt.compile:
            self.forward_model = torch.compile(self.forward_model)

    def _loader(self):
        sampler = EpochSampler(len(self.data.train), self.recipe.batch_size, self.recipe.seed, self.epoch,
                               self.world.rank, self.world.size, self.recipe.repeated_aug,
                               start_step=self.step_in_epoch)
        # workers hand over uint8 batches; train_step finishes them on the device (device_batches.py)
        dataset = TransformedSplit(self.data.train, self.train_transform.uint8, skip_unreadable=True)
        workers = self.opt.workers
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                           worker_init_fn=worker_init if workers else None,
                                           collate_fn=collate_train,
                                           pin_memory=self.device.type == "cuda")

    def _no_batch(self, empty: bool) -> bool:
        """Whether this step is skipped for want of images. Under torchrun every rank skips it if
        any rank's batch was all unreadable: a rank that skipped alone would leave the others
        waiting in DDP's gradient all-reduce for ever. Deterministic (the same files fail on
        resume), so exact resume holds."""
        if not self.world.distributed:
            return empty
        return sum_across(self.world, [float(empty)], self.device)[0] > 0

    def _agree(self, bad: bool, stop: bool) -> tuple[bool, bool]:
        if not self.world.distributed:
            return bad, stop
        summed = sum_across(self.world, [float(bad), float(stop)], self.device)
        return summed[0] > 0, summed[1] > 0

    @torch.no_grad()
    def _update_ema(self, decay: float) -> None:
        ema = list(self.ema.state_dict().values())
        live = list(self.model.state_dict().values())
        floats = [(e, m) for e, m in zip(ema, live) if e.is_floating_point()]
        torch._foreach_lerp_([e for e, _ in floats], [m for _, m in floats], 1.0 - decay)
        for e, m in zip(ema, live):
            if not e.is_floating_point():
                e.copy_(m)

    # -- state: what the run folder persists ---------------------------------------------------

    def state(self) -> dict:
        """Everything a resume needs, the run's spec, recipe and data included (state.pt)."""
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION,
            "spec_hash": self.spec.hash, "spec_name": self.spec.name, "spec_text": to_text(self.spec),
            "recipe": self.recipe.to_json(), "data": self.data.name, "data_path": data_location(self.data),
            "data_fingerprint": self.fingerprint, "precision": precision_name(self.amp), "world_size": self.world.size,
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.epoch * self.steps_per_epoch + self.step_in_epoch,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "history": self.history, "best_top1": self.best_top1, "partial": dict(self.partial),
            "torch_rng": torch.get_rng_state(), "init": self.init_record,
        }

    def check_resume(self, state: dict) -> None:
        """Everything the run recorded must be what is given now: data (where, and its classes and
        image counts), spec, recipe, world size. A difference is E1003 naming the setting, with a
        hint that works: the run folder alone knows its settings."""
        alone = f"`spachc train --resume --out {self.folder.path}` alone (the run folder has its settings)"
        now_at = data_location(self.data)
        if isinstance(state.get("data_path"), str):
            moved = state["data_path"] != now_at
        else:  # written before the path was recorded: its name as given then
            moved = state["data"] not in (self.data.name, now_at)
        if moved:
            raise ResumeRefused(f"{self.folder.path}: the run trained on data '{state['data']}', not "
                                f"'{self.data.name}'", hint=f"resume with {alone}, or train into a new --out folder")
        if isinstance(state.get("data_fingerprint"), str):
            changed = fingerprint_difference(state["data_fingerprint"], data_fingerprint(self.data))
            if changed is not None:
                raise ResumeRefused(f"{self.folder.path}: the data '{self.data.name}' changed since the run started: "
                                    f"{changed}", hint="restore the data as it was, or train into a new --out folder")
        check_state_spec(state, self.spec, self.folder.state_path)
        saved = Recipe.model_validate_json(state["recipe"])
        if saved != self.recipe:
            diff = [f"{flag(k)} {getattr(saved, k)!r} (now {getattr(self.recipe, k)!r})"
                    for k in Recipe.model_fields if getattr(saved, k) != getattr(self.recipe, k)]
            raise ResumeRefused(f"{self.folder.path}: the run was started with a different recipe: "
                                + "; ".join(diff), hint=f"resume with {alone}")
        if state["world_size"] != self.world.size:
            raise ResumeRefused(f"{self.folder.path}: the run trained on {state['world_size']} process(es), not "
                                f"{self.world.size}", hint="resume with the same --nproc_per_node for the same "
                                "batches")

    def check_resume_precision(self, state: dict) -> None:
        """`--amp auto` decides by the machine: a resume elsewhere must not change the arithmetic."""
        recorded, now = state.get("precision"), precision_name(self.amp)
        if isinstance(recorded, str) and recorded != now:
            raise ResumeRefused(f"{self.folder.path}: the run trained in {recorded} (--amp {self.recipe.amp} on its "
                                f"machine), but here it would train in {now}",
                                hint=f"resume on a device where --amp {self.recipe.amp} gives {recorded} (run.json "
                                     "names the one it used), or train into a new --out folder")

    def restore(self, state: dict) -> None:
        if not 0 <= state["step_in_epoch"] < self.steps_per_epoch:
            raise CheckpointMalformed(f"{self.folder.state_path}: step {state['step_in_epoch']} is outside an epoch "
                                      f"of {self.steps_per_epoch} steps; not resumed",
                                      hint=f"move {self.folder.path} aside and train again")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if state["scaler"]:
                self.scaler.load_state_dict(state["scaler"])
            if self.ema is not None:
                self.ema.load_state_dict(state["ema"])
            torch.set_rng_state(state["torch_rng"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointMalformed(f"{self.folder.state_path}: its weights or optimizer state do not fit the "
                                      f"model ({first[:300]}); not resumed",
                                      hint=f"move {self.folder.path} aside and train again") from None
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.history, self.best_top1 = list(state["history"]), state["best_top1"]
        self.partial = dict(state["partial"])
        self.init_record = state.get("init")

    def commit(self) -> None:
        """Write the resumable checkpoint; refuse to write non-finite weights."""
        if not all_finite(self.model):
            raise NonFiniteLoss(f"weights became non-finite at epoch {self.epoch + 1} step {self.step_in_epoch}; "
                                f"stopped; the last good checkpoint is kept in {self.folder.state_path}")
        self.folder.commit(self.state())

    def export_weights(self, name: str) -> None:
        """`best` is written before the commit, `last` after it (both derived from the live model)."""
        models = [(m, suffix) for m, suffix in ((self.model, ""), (self.ema, ".ema")) if m is not None]
        self.folder.export_weights(name, models, self.spec, self.eval_config, self.epoch)

    def run_info(self) -> dict:
        import json

        return {"command": self.opt.command, "spec": to_text(self.spec), "spec_hash": self.spec.hash,
                "recipe": json.loads(self.recipe.to_json()), "data": self.data.name, "world_size": self.world.size,
                "total_batch": self.total_batch, "peak_lr": self.peak_lr, "device": str(self.device),
                "backend": backend(self.world), "amp": str(self.amp).removeprefix("torch.") if self.amp else "off",
                "steps_per_epoch": self.steps_per_epoch, "init": self.init_record}


# --- small pieces the trainer uses ---------------------------------------------------------------

def epoch_line(row: dict, epochs: int, best: bool) -> str:
    """The epoch summary, within 80 columns (`(best)` included) so that it never wraps."""
    ema = f"  ema {row['val_top1_ema']:.2f}%" if "val_top1_ema" in row else ""
    skipped = f"  {row['skipped_images']} bad" if row.get("skipped_images") else ""
    return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.3f}  val {row['val_loss']:.3f}  "
            f"top-1 {row['val_top1']:.2f}%{ema}" + ("  (best)" if best else "") + skipped)


INPUT_BOUND_SHARE = 0.25  # waiting for data at least this share of an epoch's training time


def input_bound_note(data_wait_s: float, train_s: float) -> str:
    """A second line under the epoch summary when the loader, not the model, set the pace
    (timings stay out of metrics.jsonl, which must repeat exactly on resume)."""
    if train_s <= 0 or data_wait_s < INPUT_BOUND_SHARE * train_s:
        return ""
    return (f"\n  input-bound: {100 * data_wait_s / train_s:.0f}% of {train_s:.1f} s waiting for data, "
            f"{train_s - data_wait_s:.1f} s computing (--workers)")


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def set_drop_path(model: torch.nn.Module, rate: float) -> None:
    """Override the spec's stochastic depth: linear from 0 at the first block to `rate`."""
    paths = [m for m in model.modules() if isinstance(m, DropPath)]
    for i, m in enumerate(paths):
        m.rate = rate * i / (len(paths) - 1) if len(paths) > 1 else 0.0


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
