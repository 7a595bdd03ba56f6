"""Entry points that load without torch: the data-set API, `spachc explain`, the code
explanations and the CLI's option factories. Each probe runs in a fresh interpreter, so
nothing an earlier test imported can hide a torch import."""

from __future__ import annotations

import subprocess
import sys

from support.paths import REPO


# from datasets_api
def test_importing_the_public_api_does_not_import_torch():
    code = "import sys, spachc.datasets; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# from explain
def test_explain_does_not_import_torch():
    probe = ("import sys\n"
             "from spachc.cli.app import main\n"
             "for args in (['explain', 'E404'], ['explain'], ['explain', 'E903', '--json'], ['explain', 'E4040']):\n"
             "    sys.argv = ['spachc', *args]\n"
             "    try:\n"
             "        main()\n"
             "    except SystemExit:\n"
             "        pass\n"
             "print('torch loaded:', 'torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.rstrip().endswith("torch loaded: False"), result.stdout + result.stderr
    assert "E404 (geometry)" in result.stdout and "error[E1400]" in result.stderr


# from explanations
def test_the_module_is_plain_data_and_imports_no_torch():
    code = ("import sys, spachc.diagnostics.explanations\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


# from precision_options
def test_the_options_load_no_torch():
    code = ("import sys, spachc.cli.app, spachc.cli.common, spachc.runtime.precision\n"
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr
