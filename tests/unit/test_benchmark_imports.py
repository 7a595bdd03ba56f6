"""Every benchmark script still imports: benchmarks are run by hand, rarely, and a module move
(spachc/runtime/device.py, tests/reference_spach.py) broke two of them without any test noticing.

Checked from the source (ast), not by running the scripts: each `import`/`from ... import` of
spachc must name a module that imports and a name it defines; each import of a sibling
benchmark or of tests/support must name a file that exists and a name defined at its top level.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
from support.paths import REPO

BENCHMARKS = REPO / "benchmarks"
LOCAL_ROOTS = (BENCHMARKS, REPO / "tests")  # what the scripts put on sys.path
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))
OPTIONAL = {"openvino", "ray", "optuna"}


def _local_file(module: str) -> Path | None:
    for root in LOCAL_ROOTS:
        for candidate in (root.joinpath(*module.split(".")).with_suffix(".py"),
                          root.joinpath(*module.split("."), "__init__.py")):
            if candidate.exists():
                return candidate
    return None


def _installed_or_optional(top: str) -> bool:
    """The standard library, an installed package, or a measuring peer a benchmark imports only
    when asked (OpenVINO) or an extra (ray, optuna)."""
    return top in sys.stdlib_module_names or top in OPTIONAL or importlib.util.find_spec(top) is not None


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _problems(script: Path) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            wanted = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            wanted = [(node.module, a.name) for a in node.names]
        else:
            continue
        for module, name in wanted:
            where = f"{script.name}:{node.lineno}: {module}" + (f".{name}" if name else "")
            if module.split(".")[0] == "spachc":
                try:
                    found = importlib.import_module(module)
                except ImportError as error:
                    problems.append(f"{where}: {error}")
                    continue
                if name and not hasattr(found, name) and _local_file(f"{module}.{name}") is None:
                    try:
                        importlib.import_module(f"{module}.{name}")
                    except ImportError:
                        problems.append(f"{where}: not defined there")
            elif (path := _local_file(module)) is not None:  # the scripts put their own folder first
                if name and name not in _top_level_names(path):
                    problems.append(f"{where}: not defined in {path.relative_to(REPO)}")
            elif not _installed_or_optional(module.split(".")[0]):
                problems.append(f"{where}: no such file in benchmarks/ or tests/")
    return problems


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) >= 20


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_imports_resolve(script):
    assert _problems(script) == []


def test_the_check_sees_a_moved_module(tmp_path):
    script = tmp_path / "moved.py"
    script.write_text("from spachc.runtime.device import fused_adamw\nfrom reference_spach import reference_from_spachc\n"
                      "from spachc.train.optimizer import no_such_name\nfrom compare import no_such_helper\n")
    assert [p.split(": ", 1)[1] for p in _problems(script)] == [
        "spachc.runtime.device.fused_adamw: No module named 'spachc.runtime.device'",
        "reference_spach.reference_from_spachc: no such file in benchmarks/ or tests/",
        "spachc.train.optimizer.no_such_name: not defined there",
        "compare.no_such_helper: not defined in benchmarks/compare.py",
    ]
