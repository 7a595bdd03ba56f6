"""`spachc sweep run STUDY --ray [--ray-address ADDRESS]`: every (sample, seed) of a study as one Ray task.

The only module of spachc that imports ray (the optional extra `spachc[ray]`), and only when
`--ray` is given. A task trains the run's ordinary folder exactly as a local `sweep run` does
(runner.train_claimed: resume from the last checkpoint, failures recorded), so a run trained
under Ray is byte for byte the one trained locally with the same seed, data and thread count.

- ADDRESS (`--ray-address`) follows Ray: `auto` (the cluster this machine belongs to), `ray://HOST:10001` (Ray
  Client), `HOST:6379`; without one, RAY_ADDRESS; without that, a private Ray started for
  this command whose processes all listen on 127.0.0.1 only (no dashboard), stopped at the end.
- `--cpus-per-run N` (default 1; torch gets that many threads) and `--gpus-per-run X`
  (default 0; a fraction packs several small runs on one GPU) are each task's resources.
- A task whose worker process or node dies is retried by Ray (max_retries) and resumes from
  the run's last checkpoint. A task first takes the run's flock claim, waiting for it: a run
  still held by a worker of an earlier, killed driver is trained by at most one process.
- A killed driver loses nothing: run the same command again; finished runs are skipped,
  interrupted ones resume.
- The study folder must be on storage every node sees at the same path. Before anything is
  submitted, a probe file written into the study folder is read back by a task pinned to each
  alive node; a node that cannot read it refuses the command (E1323).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .study import StudyError
from ..diagnostics.codes import E1323

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray takes 127.0.0.1 as the node address
MAX_RETRIES = 3  # attempts after a worker or node failure


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0


def connect(address: str | None):
    """ray, initialised per Ray's conventions; with no address anywhere, a private local Ray
    on the loopback only (its gRPC servers bind the node address, here 127.0.0.1)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        os.environ[LOOPBACK_ENV] = "0"  # read when ray is imported: set before
    import ray

    if address is None:
        ray.init(include_dashboard=False, configure_logging=False, _node_ip_address="127.0.0.1")
    else:
        ray.init(address=address, include_dashboard=False, configure_logging=False)
    return ray


def check_shared_storage(ray, root: Path) -> None:
    """Every alive node must read a file the driver just wrote into the study folder."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    token = uuid.uuid4().hex
    probe = root / f".ray_probe_{token}"
    probe.write_text(token, encoding="utf-8")
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        reader = ray.remote(num_cpus=0)(_read_probe)
        refs = [reader.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(str(probe.resolve()), token) for n in nodes]
        seen = ray.get(refs, timeout=300)
    finally:
        probe.unlink(missing_ok=True)
    blind = [n.get("NodeManagerAddress", n["NodeID"]) for n, ok in zip(nodes, seen) if not ok]
    if blind:
        raise StudyError(f"{root}: the study folder is not visible at {probe.parent.resolve()} on Ray node(s) "
                         f"{', '.join(blind)}", code=E1323,
                         hint="put the study on storage every node mounts at the same path (NFS, Lustre, CephFS), "
                              "not a node's local disk or /tmp")


def _read_probe(path: str, token: str) -> bool:
    try:
        return Path(path).read_text(encoding="utf-8") == token
    except OSError:
        return False


def _train_task(root: str, unit_name: str, options, threads: int) -> dict:
    """In a Ray worker: wait for the run's claim, then train or resume it (or skip it if done)."""
    import torch

    from .claims import try_claim
    from .runner import SweepProgress, train_claimed
    from .settings import saved_settings
    from .units import finished, units
    from .study import load_study
    from ..datasets import limited, open_dataset
    from ..train.distributed import world_from_env

    torch.set_num_threads(threads)
    study = load_study(Path(root))
    settings = saved_settings(study.root)
    unit = _unit_named(study, settings, unit_name)
    counts = {"trained": 0, "skipped_done": 0, "held_elsewhere": 0, "failed": 0, "refused": 0}
    lock = study.root / "runs" / f"{unit.name}.lock"
    while (claim := try_claim(lock)) is None:  # an earlier driver's orphaned worker: wait for it
        time.sleep(1.0)
    try:
        if finished(study, unit):
            counts["skipped_done"] += 1
            return counts
        dataset = limited(open_dataset(settings.data), settings.limit_train, settings.limit_val)
        progress = SweepProgress(study, units(study, settings.seeds), [unit], lambda text: print(text, flush=True))
        train_claimed(study, unit, dataset, settings, options, world_from_env(), progress, counts)
    finally:
        claim.release()
    return counts


def _unit_named(study, settings, name: str):
    from .units import Unit

    for sample in study.samples:
        for seed in settings.seeds:
            for epochs in settings.budgets or (None,):
                unit = Unit(sample, seed, epochs)
                if unit.name == name:
                    return unit
    raise StudyError(f"{study.root}: no run named {name}")


def run_on_ray(study, settings, options, ray_options: RayOptions) -> dict:
    """Train this driver's share of the study (its --shard) as Ray tasks, rung after rung."""
    from ..datasets import limited, open_dataset
    from .preflight import preflight, write_failure
    from .runner import _wait_for
    from .units import finished, run_dir, unit_state, units
    from .study import shard_of

    dataset = limited(open_dataset(settings.data), settings.limit_train, settings.limit_val)
    counts = {"trained": 0, "skipped_done": 0, "held_elsewhere": 0, "failed": 0, "refused": 0}
    refused = preflight(study, settings, dataset)
    for sid, failure in refused.items():
        name = next(s.name for s in study.samples if s.id == sid)
        print(f"{sid} ({name}): cannot train with this study's data and recipe: {failure.line()}; skipped", flush=True)
    ray = connect(ray_options.address)
    try:
        check_shared_storage(ray, study.root)
        task = ray.remote(_train_task).options(num_cpus=ray_options.cpus_per_run, num_gpus=ray_options.gpus_per_run,
                                               max_retries=MAX_RETRIES, retry_exceptions=False)
        threads = max(1, int(ray_options.cpus_per_run))
        rungs = [None] if not settings.budgets else range(len(settings.budgets))
        for rung in rungs:
            if rung is None:
                every = units(study, settings.seeds)
            else:
                from .halving import rung_units

                every = rung_units(study, settings, rung)
                print(f"rung {rung + 1} of {len(settings.budgets)}: {len(every) // len(settings.seeds)} sample(s), "
                      f"{settings.budgets[rung]} epochs each", flush=True)
            mine = shard_of(tuple(every), *options.shard)
            for unit in every:
                if unit.sample.id in refused and unit_state(study, unit) in ("new", "started"):
                    write_failure(run_dir(study, unit), refused[unit.sample.id])
            counts["refused"] += sum(u.sample.id in refused for u in mine)
            todo = [u for u in mine if u.sample.id not in refused]
            counts["skipped_done"] += sum(finished(study, u) for u in todo)
            todo = [u for u in todo if not finished(study, u)]
            if options.max_runs is not None:
                todo = todo[:max(0, options.max_runs - counts["trained"])]
            print(f"ray: {len(todo)} run(s) submitted, {ray_options.cpus_per_run:g} CPU(s) and "
                  f"{ray_options.gpus_per_run:g} GPU(s) each", flush=True)
            for result in ray.get([task.remote(str(study.root.resolve()), u.name, options, threads) for u in todo]):
                for key, value in result.items():
                    counts[key] += value
            if options.max_runs is not None and counts["trained"] >= options.max_runs:
                break
            if rung is not None:
                _wait_for(study, every, lambda text: print(text, flush=True), options.poll_seconds)
    finally:
        ray.shutdown()
    return counts
