"""Language v2 (issue 10): defaults that make the one-liner a network, `-e`, the drop-path
schedule, and the one table of options and kinds that the front end reads."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from test_train_support import write_image_folder

import spachc
from conftest import REPO, run_cli
from spachc.lang.resources import zoo_dir, zoo_names

ONE_LINER = "stage conv x2 dim 96 -> down -> stage trans x6"

# Spec hashes before issue 10 (main at 06e6f09). The 12 multi-stage ones must not move;
# the nine single-stage ones change once, because they now say `drop_path 0.1 constant`.
HASHES_BEFORE = {
    "conv_ms_s": "4806d4900cb3609bb30290d177a285c2f81f5e38c2c6b6bd3fb9336941069a5f",
    "conv_ms_xs": "a9e938db56f96d109254f300eb289dbe194a73f81240ef3c968fe0e685a773d2",
    "conv_ms_xxs": "4bc9c9e2e666f0aafe9047be650f28fdd8b853ddfd414f22a2739f13d7e5e64f",
    "conv_s": "97c7f6a181d93bdbc6b6e539da5a52272f5c524f513494b274c5a8ff1c7609b7",
    "conv_xs": "76f2a50121f93948fc8d084d47fa1e6a13866cbe8c0384b5dfd7b396a09edc60",
    "conv_xxs": "a09614a4dc168282a38de0004fd93490be0405c9a2f11d486867d95936264368",
    "hybrid_s": "52238b8f438dbe9d7c5345da63c19a7d7d91ecab553f7a7f6ea75a4e4be1a501",
    "hybrid_s_plus": "9d4748693deb2d8d2f770566b9100a3cb20661dd7cd3345b8ee733650a11eb85",
    "hybrid_xs": "cc095aadd0981d73b02ca5498d5b40899201ee065167ec846969bd485ca34720",
    "mlp_ms_s": "3a96437a0f3730dd32ca8c559483c0ce5414332ea2528dd2b5fda7c64f2db1ca",
    "mlp_ms_xs": "6ee4118102e95135020970ee07a0bda2ccbc33ea22601a5af174f8ed619cb53f",
    "mlp_ms_xxs": "1b01b2f1074ee92d7350db01668bc4aac1dce5152c54feab669186548eb42ab2",
    "mlp_s": "a28f4bf0daacb1a3a0905b0a4af54971939af63b0fe9744e6640ede241521f62",
    "mlp_xs": "52e8fe5f7a9152b1e684d23ae448cddb0c221c6c3c7d70d31c9e5229a3328e96",
    "mlp_xxs": "288370387a568f3617fb1104937333d1d6b61a123fa7b505c3edb4b2a5a4c5e0",
    "trans_ms_s": "2a7d6fd6c5a9f3e95825962cfff16aefb678ddcdc7a60d145161957a41c804f6",
    "trans_ms_xs": "67b5b6ec2d697b5447c15b095ad0cdca21b598314e552a3d305808723884945a",
    "trans_ms_xxs": "6d39e36e6dcf5ef516901930ceabf62122f7edb79e9aa48541932da31b2d19ae",
    "trans_s": "2d70452999c1fb3025767fc0a3c94955a3227b6abec13aa9e2f9190559c9b43d",
    "trans_xs": "449ddd02210dc0a83fcbae01a30a2edbee0f72b38fd79330588b61f29a18fa15",
    "trans_xxs": "0deae4996f150e840d2b94750ede747cb698fbf63209a1effcc65d987805ccb3",
}
SINGLE_STAGE = {"conv_s", "conv_xs", "conv_xxs", "mlp_s", "mlp_xs", "mlp_xxs", "trans_s", "trans_xs", "trans_xxs"}


# --- defaults ---------------------------------------------------------------------------

def test_the_one_liner_means_the_spelled_out_network():
    spelled = spachc.parse("input 224\nclasses 1000\nstem conv1 patch 4\ndefaults heads 3\n"
                           "stage conv x2 dim 96 -> down -> stage trans x6 dim 192", "one.spach")
    assert spachc.parse(ONE_LINER, "one.spach") == spelled


def test_defaults_follow_the_papers_conventions():
    single = spachc.parse("stage trans x2 dim 64")
    assert (single.input, single.stem.patch, single.stages[0].grid) == ((224, 224), 16, (14, 14))
    multi = spachc.parse("stage conv x1 dim 16 -> down -> stage trans x1 -> down -> stage trans x1")
    assert multi.stem.patch == 4
    assert [s.heads for s in multi.stages] == [None, 1, 1]  # max(1, 16 // 32), the same in every stage
    assert spachc.parse("stage trans x1 dim 384").stages[0].heads == 12


def test_a_default_heads_that_does_not_divide_points_at_the_stage_and_says_so():
    with pytest.raises(spachc.SpecError) as caught:
        spachc.parse("stage trans x1 dim 64\n-> down -> stage trans x1 dim 65", "t.spach")
    (d,) = caught.value.errors
    assert (d.code, d.line, d.column) == ("E404", 2, 12)
    assert "default heads is max(1, first stage's dim 64 // 32) = 2" in d.hint and "write `heads N`" in d.hint


@pytest.mark.parametrize("name", zoo_names())
def test_the_defaults_reproduce_every_zoo_spec(name):
    """Without `heads`, `input 224` and the conventional stem, each zoo spec is the same network."""
    text = (zoo_dir() / f"{name}.spach").read_text()
    stripped = re.sub(r" heads \d+", "", text)
    stripped = re.sub(r"^(input 224|stem conv1 patch (4|16))\n", "", stripped, flags=re.M)
    assert "heads" not in stripped and "input" not in stripped and (name == "hybrid_s_plus") == ("stem" in stripped)
    assert spachc.parse(stripped, f"{name}.spach") == spachc.load(name)


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE))
def test_exactly_the_nine_single_stage_hashes_change(name):
    spec = spachc.load(name)
    if name in SINGLE_STAGE:
        assert spec.hash != HASHES_BEFORE[name]
        assert spec.drop_path_schedule == "constant" and {b.drop_path for b in spec.blocks} == {0.1}
        linear = spachc.parse((zoo_dir() / f"{name}.spach").read_text().replace(" constant", ""), f"{name}.spach")
        assert linear.hash == HASHES_BEFORE[name]  # the hash rule itself did not change
    else:
        assert spec.hash == HASHES_BEFORE[name]


def test_drop_path_schedules():
    text = "drop_path 0.3{}\nstage conv x3 dim 8 -> down -> stage conv x2\n"
    linear, explicit, constant = (spachc.parse(text.format(s)) for s in ("", " linear", " constant"))
    assert [b.drop_path for b in linear.blocks] == pytest.approx([0, 0.075, 0.15, 0.225, 0.3])
    assert explicit == linear
    assert [b.drop_path for b in constant.blocks] == [0.3] * 5
    assert constant.hash != linear.hash
    for spec in (linear, constant):
        assert spachc.parse(spachc.to_text(spec)) == spec
    assert "drop_path 0.3 constant" in spachc.to_text(constant)
    assert spachc.Spec.from_json(constant.to_json()) == constant  # the IR validator accepts either schedule
    assert spachc.parse(text.format("") , overrides=["drop_path=0.3 constant"]) == constant


def test_an_ir_whose_blocks_follow_no_schedule_is_refused():
    spec = spachc.parse("drop_path 0.3\nstage conv x3 dim 8\n")
    data = spec.model_dump(mode="json")
    data["stages"][0]["blocks"][1]["drop_path"] = 0.3  # neither 0.15 (linear) nor rate everywhere
    with pytest.raises(ValueError, match="E309"):
        spachc.Spec.model_validate(data)


# --- the command line -------------------------------------------------------------------

def test_the_one_liner_checks_builds_and_trains_from_a_file(tmp_path):
    spec = tmp_path / "one.spach"
    spec.write_text(ONE_LINER + "\n")
    checked = run_cli("check", str(spec))
    assert checked.returncode == 0 and "ok: 1 spec(s) checked, 0 error(s), 0 warning(s)" in checked.stderr
    built = run_cli("build", str(spec))
    assert built.returncode == 0, built.stderr
    assert f"params {spachc.summary(spachc.parse(ONE_LINER)).params:,}" in built.stdout
    assert "(1, 3, 224, 224) -> output (1, 1000)" in built.stdout
    data = write_image_folder(tmp_path / "data", train_per_class=3, val_per_class=1, size=16)
    trained = run_cli("train", str(spec), "--data", str(data), "--out", str(tmp_path / "run"), "--device", "cpu",
                      "--epochs", "1", "--batch-size", "8", "--warmup-epochs", "0", "--cooldown-epochs", "0",
                      "--workers", "0")
    assert trained.returncode == 0, trained.stderr
    assert "classes 3: the spec leaves `classes` to its default" in trained.stdout
    assert (tmp_path / "run" / "last.safetensors").is_file()
    assert spachc.load_model(tmp_path / "run" / "last.safetensors").spec.classes == 3


def test_build_and_check_take_the_spec_as_text():
    built = run_cli("build", "-e", ONE_LINER, "--json")
    assert built.returncode == 0, built.stderr
    assert '"spec_hash": "' + spachc.parse(ONE_LINER, "<-e>").hash in built.stdout
    bad = run_cli("check", "-e", ONE_LINER, "-e", "stage tran x2 dim 8")
    assert bad.returncode == 1
    assert "<-e>:1:7: error[E103]: unknown block kind 'tran'" in bad.stderr
    assert "2 spec(s) checked, 1 error(s)" in bad.stderr
    for args in (("build",), ("build", "hybrid_s", "-e", ONE_LINER), ("check",)):
        neither = run_cli(*args)
        assert neither.returncode == 1 and "error[E008]" in neither.stderr and "Traceback" not in neither.stderr


def test_check_fmt_diff_and_the_front_end_never_import_torch(tmp_path):
    probe = ("import sys, spachc, spachc.lang.options, spachc.lang.kinds, spachc.lang.diffing, spachc.cli.check_cmd, "
             "spachc.cli.fmt_cmd, spachc.cli.diff_cmd\n"
             "spachc.summary(spachc.parse('stage smlp x1, sepconv x1, pool x1, shift x1 dim 24'))\n"
             "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


# --- the table of options and the registry of kinds --------------------------------------

def test_every_kind_has_a_module_and_every_option_a_grammar_rule():
    from spachc.lang.kinds import KINDS
    from spachc.lang.options import STAGE_OPTIONS, STATEMENTS
    from spachc.lang.resources import grammar_text
    from spachc.nn.mixers import MIXERS

    assert set(MIXERS) == {k for k, v in KINDS.items() if v.mixer}
    grammar = grammar_text()
    for name in list(STAGE_OPTIONS) + list(STATEMENTS):
        assert f'"{name}"' in grammar, name
    for name in KINDS:  # kinds are registry words, never grammar keywords
        assert f'"{name}"' not in grammar, name


def test_the_set_keys_and_the_diff_fields_come_from_the_table():
    from spachc.cli.common import SET_OPTION_HELP
    from spachc.lang.diffing import STAGE_FIELDS
    from spachc.lang.options import STAGE_OPTIONS, STATEMENTS
    from spachc.lang.overrides import KEYS

    assert set(KEYS) == ({k for k, s in STATEMENTS.items() if s.settable}
                         | {k for k, o in STAGE_OPTIONS.items() if o.settable})
    assert "shared" not in KEYS and "defaults" not in KEYS
    assert all(k in SET_OPTION_HELP for k in KEYS)
    assert set(STAGE_FIELDS) == set(STAGE_OPTIONS) | {"grid"}


def test_the_docs_state_every_kind_option_and_new_code():
    from spachc.lang.kinds import KINDS
    from spachc.lang.options import STAGE_OPTIONS

    language = (REPO / "docs" / "LANGUAGE.md").read_text()
    for name in KINDS:
        assert f"| `{name}` |" in language, name
    for name in STAGE_OPTIONS:
        assert f"| `{name}" in language, name
    readme = (REPO / "README.md").read_text()
    for code in ("E008", "E501–E503", "W101–W104", "E108–E109"):
        assert code in readme, code
    changed = [line for line in (REPO / "docs" / "zoo.md").read_text().splitlines()
               if line.startswith("| `") and "constant" in line]  # the zoo table's single-stage rows
    assert len(changed) == 9, changed
    for line in changed:  # each changed hash says so, with the hash it had before
        assert re.search(r"changed once \(was `[0-9a-f]{12}`\)", line), line


def test_the_front_end_has_no_import_cycles():
    """Every `from .x import` in spachc/lang (and the package root), function-level ones
    included and TYPE_CHECKING ones excluded, forms an acyclic graph."""
    import ast

    root = REPO / "spachc"
    graph: dict[str, set[str]] = {}
    for path in [root / "__init__.py", root / "_version.py", *sorted((root / "lang").glob("*.py"))]:
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and id(node) not in typing_only:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names)
        graph[name] = deps

    def reaches(start: str, goal: str, seen: set) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and dep in graph and not seen.add(dep) and reaches(dep, goal, seen)):
                return True
        return False

    assert len(graph) > 15
    assert [m for m in graph if reaches(m, m, set())] == []
