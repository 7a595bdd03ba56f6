"""A real 2-process torchrun (gloo on CPU): it finishes and both ranks end with equal weights."""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from support.cli import env
from support.paths import REPO
from support.training import SMALL_RUN, digest, load_tensors, metrics, write_image_folder, write_spec


RENDEZVOUS_TROUBLE = ("Address already in use", "RendezvousConnectionError", "RendezvousTimeoutError",
                      "Connection refused", "DistStoreError")


def torchrun(cmd: list[str], out):
    """Run `cmd`, a torchrun whose `--out` is `out`: (the process, the run folder it wrote). If the
    two processes could not meet (a port taken between torchrun's choice and its use: the
    machine's networking, not training), once more in a fresh folder; any other failure stands."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env(), cwd=REPO)
    if proc.returncode != 0 and any(sign in proc.stderr for sign in RENDEZVOUS_TROUBLE):
        out = out.with_name(out.name + "_again")
        cmd = [*cmd[:cmd.index("--out") + 1], str(out), *cmd[cmd.index("--out") + 2:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env(), cwd=REPO)
    return proc, out


def test_two_process_torchrun_keeps_ranks_in_sync(tmp_path):
    folder = write_image_folder(tmp_path / "data")
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "spachc", "train", str(spec), "--data", str(folder), "--out", str(out), "--device", "cpu",
           "--epochs", "2", "--workers", "0", *SMALL_RUN]
    proc, out = torchrun(cmd, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    ranks = result["weights_sha256_per_rank"]
    assert len(ranks) == 2 and ranks[0] == ranks[1]
    assert ranks[0] == digest(load_tensors(out / "last.safetensors"))
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2 and run["total_batch"] == 16
    # 48 images, 3 repeats: each rank sees 24 per epoch in batches of 8; all 12 val images counted once.
    assert run["steps_per_epoch"] == 3
    assert [r["val_images"] for r in metrics(out)] == [12, 12]
    assert torch.load(out / "state.pt", weights_only=True)["world_size"] == 2
    # Only rank 0 prints the epoch summaries.
    assert proc.stdout.count("epoch 2/2  train loss") == 1


def test_a_rank_whose_batch_is_all_unreadable_does_not_leave_the_other_waiting(tmp_path):
    """Per-rank batches of one image and a quarter of the images corrupt: at some step one rank
    has an image and the other none. Both must skip that step together (a rank skipping alone
    hangs the other in DDP's all-reduce), and the run ends with equal weights and the files named."""
    folder = write_image_folder(tmp_path / "data")
    corrupt = sorted((folder / "train").rglob("*.png"))[::4]
    for path in corrupt:
        path.write_bytes(b"not a png")
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "spachc", "train", str(spec), "--data", str(folder), "--out", str(out), "--device", "cpu",
           "--epochs", "1", "--workers", "0", "--batch-size", "1", "--warmup-epochs", "0", "--log-every", "100"]
    proc, out = torchrun(cmd, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = json.loads((out / "result.json").read_text())["weights_sha256_per_rank"]
    assert len(ranks) == 2 and ranks[0] == ranks[1]
    skipped = metrics(out)[0]["skipped_images"]  # distinct files met this epoch (repeated augmentation
    assert 0 < skipped <= len(corrupt)              # samples a part of the set per epoch)
    assert f"skipped {skipped} image(s) that cannot be read" in proc.stdout + proc.stderr
