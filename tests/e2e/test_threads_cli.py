"""The CLI sets its thread and wait policy (spachc/runtime/threads.py) before torch loads and
honours --threads (the policy itself is tests/unit/test_threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from support.paths import REPO

from spachc.runtime.threads import available_cpus


def _torch_state_after_cli(extra_env: dict, args: str = "") -> str:
    code = ("import sys; sys.argv = ['spachc'] + sys.argv[1:]\n"
            "import spachc.cli.app as app, os, torch\n"
            "try:\n    app.main()\nexcept SystemExit:\n    pass\n"
            "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "SPACHC_THREADS")}
    proc = subprocess.run([sys.executable, "-c", code, *args.split()], cwd=REPO, capture_output=True, text=True,
                          env={**env, **extra_env}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\n")[-2]


def test_cli_sets_policy_before_torch_loads_and_honours_threads():
    # torch is imported after the CLI module, as every command does: it sees the policy.
    assert _torch_state_after_cli({}) == f"PASSIVE {available_cpus()}"
    assert _torch_state_after_cli({"SPACHC_THREADS": "1"}) == "PASSIVE 1"
    assert _torch_state_after_cli({"OMP_WAIT_POLICY": "ACTIVE"}, "--threads 1 schema").startswith("ACTIVE 1")
