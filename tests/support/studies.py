"""Studies for the sweep tests (no tests here): tiny specs on the built-in animals, a study
folder made with the real `spachc sweep new`, `spachc sweep` in a subprocess, and a comparison
of run folders that ignores the safetensors header's key order."""

from __future__ import annotations

import json
import struct
import subprocess

from support.cli import env, spachc_cmd
from support.paths import REPO

SPECS = {
    "conv": "model t_conv\ninput 28 channels 1\nclasses 10\nstem conv1 patch 7\ndrop_path 0.1\n\nstage conv x2 dim 16\n",
    "trans": "model t_trans\ninput 28 channels 1\nclasses 10\nstem conv1 patch 7\ndefaults heads 2\n\n"
             "stage trans x1 dim 16\n",
    "mlp": "model t_mlp\ninput 28 channels 1\nclasses 10\nstem conv1 patch 7\n\nstage mlp x1 dim 16\n",
}
RUN_FILES = ("last.safetensors", "best.safetensors", "last.ema.safetensors", "metrics.jsonl", "result.json",
             "curves.png")


def make_study(root, kinds=("conv", "trans")):
    files = []
    for kind in kinds:
        (root / f"{kind}.spach").write_text(SPECS[kind])
        files.append(str(root / f"{kind}.spach"))
    study = root / "study"
    proc = subprocess.run(spachc_cmd("sweep", "new", *files, "-o", str(study)), capture_output=True, text=True,
                          env=env(), cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return study


def sweep(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(spachc_cmd("sweep", *args), capture_output=True, text=True, env=env(), cwd=REPO,
                          timeout=timeout)


def run_names(study) -> list[str]:
    return sorted(p.name for p in (study / "runs").iterdir() if p.is_dir())


def _content(path):
    """A file's bytes; for safetensors, the parsed header and the tensor bytes (the library writes
    the metadata keys in a per-process hash order, so equal files may differ in header bytes)."""
    data = path.read_bytes()
    if path.suffix != ".safetensors":
        return data
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]
