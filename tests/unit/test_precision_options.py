"""--dtype, --device, --threads and --amp mean the same in every command that takes them: one
declaration each (spachc/cli/common.py), one table of names (spachc/runtime/precision.py), one
error for a name spachc does not know and for one a command cannot take, one `auto` rule.

Parsing is checked in-process and torch-free: `make_context` runs the option callbacks (where
the values are checked) without running the command."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from spachc.cli.app import app, command
from spachc.runtime import precision, threads

from support.paths import REPO
CLI = command()
# What each command takes, written out here rather than read from the code under test.
DTYPE_TAKERS = {("bench",): ("fp32", "bf16", "auto"), ("eval",): ("fp32", "bf16", "auto"),
                ("export",): ("fp32", "bf16", "fp16")}
DEVICE_TAKERS = {("bench",), ("eval",), ("train",), ("sweep", "run")}
ALL_PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def _commands(group=CLI, path=()):
    """(path, click command) of every command and subcommand."""
    for name, cmd in getattr(group, "commands", {}).items():
        yield (*path, name), cmd
        yield from _commands(cmd, (*path, name))


def _takers(flag: str) -> dict:
    return {path: p for path, cmd in _commands() for p in cmd.params if flag in getattr(p, "opts", ())}


def _parse(path: tuple[str, ...], *args: str) -> dict:
    """The parameters `spachc PATH ARGS` would run with (callbacks run; the command does not)."""
    cmd = CLI
    for name in path:
        cmd = cmd.commands[name]
    required = ["X"] * sum(1 for p in cmd.params if p.param_type_name == "argument" and p.required)
    with cmd.make_context(path[-1], [*required, *args]) as ctx:
        return ctx.params


def _refused(capsys, path: tuple[str, ...], *args: str) -> str:
    """The first line of the error `spachc PATH ARGS` stops with while parsing (exit status 1)."""
    with pytest.raises(typer.Exit) as info:
        _parse(path, *args)
    assert info.value.exit_code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "= hint: " in err, err
    return err.splitlines()[0]


def test_each_option_is_declared_once_in_the_cli():
    for flag in ("--dtype", "--device", "--threads", "--amp"):
        declaring = sorted(p.name for p in (REPO / "spachc" / "cli").glob("*.py") if f'"{flag}"' in p.read_text())
        assert declaring == ["common.py"], (flag, declaring)


def test_dtype_is_taken_by_the_commands_that_run_or_write_a_model():
    options = _takers("--dtype")
    assert set(options) == set(DTYPE_TAKERS)
    assert {path: option.metavar for path, option in options.items()} == \
        {path: "|".join(allowed) for path, allowed in DTYPE_TAKERS.items()}
    # One help text: the same words around each command's names.
    assert len({re.sub(r"\b(fp32|bf16|fp16)\b", "NAME", option.help) for option in options.values()}) == 2  # with auto or not
    assert options[("export",)].help == "Precision: fp32, bf16 or fp16."
    assert options[("eval",)].help == options[("bench",)].help


@pytest.mark.parametrize("path", sorted(DTYPE_TAKERS))
def test_dtype_same_spellings_one_error(path, capsys):
    allowed = DTYPE_TAKERS[path]
    for name in allowed:
        assert _parse(path, "--dtype", name)["dtype"] == name
    for name in ALL_PRECISIONS:
        if name not in allowed:
            taken = f"{allowed[0]}, {allowed[1]} or {allowed[2]}"
            assert _refused(capsys, path, "--dtype", name) == \
                f"error[E1016]: {path[-1]} cannot run --dtype {name} here: it takes {taken}"
    for unknown in ("fp8", "FP32", "float32", ""):
        assert _refused(capsys, path, "--dtype", unknown) == \
            f"error[E1016]: --dtype '{unknown}' is not one of: {', '.join(allowed)}"


def test_defaults_stay_per_command():
    assert {path: _parse(path)["dtype"] for path in DTYPE_TAKERS} == \
        {("bench",): "auto", ("eval",): "fp32", ("export",): "fp32"}


def test_the_cli_reports_the_error_and_its_exit_status():
    result = CliRunner().invoke(app, ["eval", "m.safetensors", "--dtype", "fp16"], prog_name="spachc")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error[E1016]: eval cannot run --dtype fp16 here: it takes fp32, bf16 or auto\n")


def test_bench_amp_uses_the_same_names_and_error(capsys):
    assert [_parse(("bench",), "--amp", mode)["amp"] for mode in ("off", "bf16", "fp16")] == ["off", "bf16", "fp16"]
    assert _refused(capsys, ("bench",), "--amp", "auto") == \
        "error[E1016]: bench cannot run --amp auto here: it takes off, bf16 or fp16"
    assert _refused(capsys, ("bench",), "--amp", "fp32") == "error[E1016]: --amp 'fp32' is not one of: off, bf16, fp16"


def test_training_amp_modes_are_the_tables():
    from typing import get_args

    from spachc.train.recipe import AmpMode

    assert set(get_args(AmpMode)) == set(precision.AUTOCAST_MODES) == {"auto", "bf16", "fp16", "off"}


@pytest.mark.parametrize("path", sorted(DEVICE_TAKERS))
def test_device_same_everywhere(path, capsys):
    assert set(_takers("--device")) == DEVICE_TAKERS
    assert _parse(path)["device"] == "auto"
    for name in ("auto", "cpu", "cuda"):  # cuda's presence is checked where the device is resolved
        assert _parse(path, "--device", name)["device"] == name
    assert _refused(capsys, path, "--device", "tpu") == "error[E1008]: --device tpu: choose auto, cpu or cuda"


def test_threads_works_wherever_declared(monkeypatch, capsys):
    """The root (`spachc --threads N CMD`) and bench take it; both set the threads as it is read."""
    assert {p for p in _takers("--threads")} == {("bench",)} and \
        any("--threads" in getattr(p, "opts", ()) for p in CLI.params)
    calls = []
    monkeypatch.setattr(threads, "configure", lambda n: calls.append(n) or n)
    monkeypatch.delenv("SPACHC_THREADS", raising=False)
    assert _parse(("bench",), "--threads", "3")["threads"] == 3
    runner = CliRunner()
    result = runner.invoke(app, ["--threads", "2", "schema", "--of", "ir"], prog_name="spachc")
    assert result.exit_code == 0, result.stderr
    assert calls == [3, 2]
    for args, env in ((["--threads", "0", "schema"], {}), (["bench", "X", "--threads", "0"], {}),
                      (["schema"], {"SPACHC_THREADS": "0"})):
        result = runner.invoke(app, args, env=env, prog_name="spachc")
        assert result.exit_code == 1 and result.stderr.startswith("error[E1410]: --threads 0: a thread count is "
                                                                  "at least 1\n"), (args, result.stderr)
    assert calls == [3, 2]  # a refused count configures nothing


@pytest.mark.parametrize("flags, macs, inference, training", [
    ({"amx_bf16"}, 10**10, "bf16", "bf16"),
    ({"avx512_bf16"}, 10**6, "bf16", "fp32"),  # a small training step: autocast's casts would cost more
    ({"avx512f"}, 10**10, "fp32", "fp32"),
    (set(), 10**10, "fp32", "fp32"),
])
def test_auto_resolves_by_the_one_rule(monkeypatch, flags, macs, inference, training):
    import torch

    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    cpu = torch.device("cpu")
    assert precision.auto_precision(cpu) == precision.resolve_precision("auto", "cpu") == inference
    assert precision.auto_precision(cpu, macs) == training
    assert precision.amp_dtype("auto", cpu, macs) == {"bf16": torch.bfloat16, "fp32": None}[training]


def test_one_table_of_names_to_dtypes():
    import torch

    expected = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    assert {name: precision.torch_dtype(name) for name in expected} == expected
    assert {precision.precision_name(dtype) for dtype in expected.values()} == set(expected)
    assert precision.precision_name(None) == "fp32"
    assert {precision.amp_dtype(m, torch.device("cpu")) for m in ("off", "bf16", "fp16")} == \
        {None, torch.bfloat16, torch.float16}
    with pytest.raises(precision.PrecisionError) as info:
        precision.resolve_precision("fp16")
    assert info.value.code == "E1016"


def test_library_export_gives_the_same_error(tmp_path):
    import spachc

    spec = spachc.parse("model m\ninput 32\nclasses 10\nstem patch 4\nstage conv x1 dim 8\n")
    with pytest.raises(precision.PrecisionError) as info:
        spachc.export(spec, onnx=tmp_path / "m.onnx", dtype="auto")
    assert info.value.code == "E1016" and str(info.value).startswith("export cannot run --dtype auto here")
    assert not (tmp_path / "m.onnx").exists()


