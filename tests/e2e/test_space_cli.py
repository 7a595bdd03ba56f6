"""Design spaces in the language: choices, named choices, ranges, alternative pipelines and
`where`; `check`'s counts; `sweep sample`'s determinism, uniformity and constraints.
Expectations come from writing every combination out as a plain spec by hand (string
templates) and compiling those with the ordinary front end (labels and diagnostics are
tests/unit/test_space.py)."""

from __future__ import annotations

import collections
import itertools
import json
import sys

import pytest
from support.cli import run_cli

from spachc.diagnostics import SpecError
from spachc.lang import space
from spachc.lang.frontend import check_with_census, document, load, parse
from spachc.lang.summary import summary

SMALL = """\
model small
input 32
classes 10
stem conv1 patch 4
choose family {conv | trans}
stage $family x{1..2} dim {16 | 24} heads {2 | 4} -> down -> stage $family x1
where params <= 20K
"""


def small_by_hand():
    """Every combination of SMALL as a plain spec (hash -> (params, macs)), and the count of valid ones."""
    valid, archs = 0, {}
    for family, depth, dim, heads in itertools.product(("conv", "trans"), (1, 2), (16, 24), (2, 4)):
        text = (f"model small\ninput 32\nclasses 10\nstem conv1 patch 4\n"
                f"stage {family} x{depth} dim {dim} heads {heads} -> down -> stage {family} x1\n")
        try:
            spec = parse(text)
        except SpecError:
            continue
        valid += 1
        s = summary(spec)
        archs[spec.hash] = (s.params, s.macs)
    return valid, archs


def test_check_counts_distinct_architectures_and_those_meeting_where(tmp_path):
    path = tmp_path / "small.spach"
    path.write_text(SMALL)
    diagnostics, census = check_with_census(path)
    assert [d for d in diagnostics if d.severity == "error"] == []
    valid, archs = small_by_hand()
    assert census.exact and census.combinations == 16 and census.valid == valid
    # heads is normalised away in conv stages, so conv combinations collapse: fewer distinct than valid
    assert census.distinct == len(archs) < valid
    assert census.distinct_meeting == sum(p <= 20_000 for p, _ in archs.values()) > 0
    proc = run_cli("check", str(path))
    assert proc.returncode == 0
    assert (f"a design space of 16 combinations: {valid} valid, {len(archs)} distinct architecture(s) (by spec hash), "
            f"{census.distinct_meeting} of them meet `where`") in proc.stdout


def test_a_space_cannot_be_built_or_trained_and_fmt_leaves_it_alone(tmp_path):
    path = tmp_path / "small.spach"
    path.write_text(SMALL)
    with pytest.raises(SpecError) as info:
        load(path)
    assert info.value.diagnostics[0].code == "E160"
    for command in (["build", str(path)], ["train", str(path), "--epochs", "1"], ["fmt", str(path)]):
        proc = run_cli(*command)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        code = "E169" if command[0] == "fmt" else "E160"
        assert f"small.spach:5:16: error[{code}]" in proc.stderr, proc.stderr
    assert "sample it first: spachc sweep sample" in run_cli("build", str(path)).stderr
    assert path.read_text() == SMALL


def test_sample_is_deterministic_distinct_and_meets_where(tmp_path):
    path = tmp_path / "small.spach"
    path.write_text(SMALL)
    _, archs = small_by_hand()
    meeting = {h for h, (p, _) in archs.items() if p <= 20_000}
    runs = []
    for seed, out in ((3, "a"), (3, "b"), (4, "c")):
        proc = run_cli("sweep", "sample", str(path), "-n", str(len(meeting)), "--seed", str(seed), "-o", str(tmp_path / out))
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads((tmp_path / out / "study.json").read_text()))
    assert runs[0] == runs[1] and runs[0]["samples"] != runs[2]["samples"]
    study = runs[0]
    assert study["space_text"] == SMALL and study["seed"] == 3 and study["space"] == "small"
    assert {s["hash"] for s in study["samples"]} == meeting  # all of them, each once
    for s in study["samples"]:
        spec = load(tmp_path / "a" / s["file"])
        assert spec.hash == s["hash"] and (summary(spec).params, summary(spec).macs) == (s["params"], s["macs"])
        assert spec.stages[0].groups[0].kind == s["choices"]["family"] and spec.stages[0].dim == int(s["choices"]["stage1.dim"])
    proc = run_cli("sweep", "sample", str(path), "-n", str(len(meeting) + 1), "-o", str(tmp_path / "d"))
    assert proc.returncode == 1 and "error[E1307]" in proc.stderr and f"holds {len(meeting)} distinct" in proc.stderr
    assert not (tmp_path / "d").exists()


def _chi_square(counts, expected):
    return sum((c - expected) ** 2 / expected for c in counts)


def test_sampling_is_uniform_enumerated_and_by_rejection(monkeypatch):
    # 12 distinct architectures, all valid: each should come up equally often.
    doc = document("input 32\nclasses 10\nstem conv1 patch 4\nstage conv x{1..3} dim {8 | 16 | 24 | 32}\n")
    counts = collections.Counter()
    for seed in range(600):
        outcomes, how = space.sample(doc, 1, seed)
        counts[outcomes[0].spec.hash] += 1
    assert how["sampler"].endswith("(enumerated)") and len(counts) == 12
    # chi-square, 11 degrees of freedom: P(> 31.3) ~ 0.001
    assert _chi_square(counts.values(), 600 / 12) < 31.3, counts
    monkeypatch.setattr(space, "ENUMERATE_LIMIT", 4)  # force the rejection sampler on the same space
    counts = collections.Counter()
    for seed in range(600):
        outcomes, how = space.sample(doc, 1, seed)
        counts[outcomes[0].spec.hash] += 1
    assert how["sampler"].startswith("uniform per choice, rejection") and len(counts) == 12
    assert _chi_square(counts.values(), 600 / 12) < 31.3, counts


def test_the_battle_space_samples_single_family_networks_of_matched_macs(tmp_path):
    proc = run_cli("sweep", "sample", "battle", "-n", "30", "--seed", "1", "-o", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    study = json.loads((tmp_path / "b" / "study.json").read_text())
    assert study["space"] == "battle" and len({s["hash"] for s in study["samples"]}) == 30
    for s in study["samples"]:
        spec = load(tmp_path / "b" / s["file"])
        kinds = {g.kind for stage in spec.stages for g in stage.groups}
        assert kinds == {s["choices"]["family"]}
        assert len(spec.stages) == int(s["choices"]["pipeline"])
        assert 2e6 <= summary(spec).macs <= 10e6


def test_check_and_sample_never_import_torch(tmp_path):
    probe = ("import sys\nfrom spachc.cli.app import app\n"
             f"for args in (['check', 'battle.spach'], ['sweep', 'sample', 'battle', '-n', '3', '-o', {str(tmp_path / 's')!r}]):\n"
             "    try:\n        app(args)\n    except SystemExit as e:\n        assert e.code in (0, None), e.code\n"
             "assert 'torch' not in sys.modules\nprint('no torch')\n")
    import subprocess

    from support.paths import REPO

    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO / "spaces", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "no torch" in proc.stdout, proc.stderr
