"""`spachc explain`'s content: an example and a fix for every code, each example true.

Spec examples go through the front end and must report their code (and nothing else);
command examples must name a real subcommand with options it parses; the torch-free
ones (check, fmt, diff) are run on files made here and must print their code.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from spachc.cli.app import app
from spachc.diagnostics.codes import CODES, RETIRED
from spachc.diagnostics.explanations import EXPLANATIONS, Explanation
from spachc.lang.frontend import check_text

CODE_WORD = re.compile(r"\b[EW]\d{3,4}\b")

# Codes only the Python API raises: their example is a `python -c` line, not a spachc command.
API_ONLY = {
    "E309": "Spec.from_json of IR JSON whose derived fields were edited",
    "E405": "Spec.from_json of IR JSON with a trans stage and no heads (text has a default)",
    "E820": "create_model of a source of no known kind (the CLI reads such arguments as spec files)",
    "E821": "create_model(pretrained=...) of another architecture",
    "E822": "create_model or save arguments",
    "E1201": "a features_only backbone called on another size",
    "E1202": "a features_only backbone called on a size its stride does not divide",
    "E1203": "a features_only backbone called on a tensor that is no image batch",
    "E1230": "build or reset_classifier with a bad num_classes",
    "E1231": "build or reset_classifier with an unsupported global_pool",
}

# Front-end codes that `check` does not report on text, and why their example is a command.
NOT_FROM_CHECK = {
    "E160": "raised where one network is needed (build, train), not by check",
    "E169": "raised by fmt only",
    "E309": "IR JSON only",
    "E405": "IR JSON only",
}

FRONT_END_FAMILIES = {"syntax", "space", "duplicate", "value", "geometry", "sharing"}


def front_end_codes() -> set[str]:
    """Every code `check` reports on spec text: the language's families, its warnings
    (W1xx: training's are W1xxx) and the empty spec."""
    language = {c for c, entry in CODES.items() if entry.family in FRONT_END_FAMILIES}
    warnings = {c for c in CODES if re.fullmatch(r"W1\d\d", c)}
    return (language | warnings | {"E002"}) - set(NOT_FROM_CHECK)


def command_words(example: str) -> list[str]:
    """The spachc argument list of a command example (`torchrun ... -m spachc ARGS` included)."""
    words = shlex.split(example, comments=True)
    if words[0] == "torchrun":
        at = words.index("-m")
        assert words[at + 1] == "spachc", example
        words = ["spachc"] + words[at + 2:]
    return words


# --- coverage ---------------------------------------------------------------------------------

def test_every_registered_code_has_an_explanation_and_no_other_code_does():
    assert set(EXPLANATIONS) == set(CODES)
    assert not set(EXPLANATIONS) & set(RETIRED)


def test_explanations_name_only_registered_codes():
    for code, e in EXPLANATIONS.items():
        named = set(CODE_WORD.findall(e.fix + " " + e.example))
        assert named <= set(CODES), (code, named - set(CODES))


@pytest.mark.parametrize("code", sorted(EXPLANATIONS))
def test_an_explanation_is_an_example_of_a_known_kind_and_a_short_fix(code):
    e = EXPLANATIONS[code]
    assert isinstance(e, Explanation) and e.kind in ("spec", "command")
    assert e.example.strip() and e.fix.strip()
    sentences = re.findall(r"(?<!e\.g)(?<!i\.e)[.!?](?=\s+[A-Z`]|\s*$)", e.fix)
    assert 1 <= len(sentences) <= 3 and len(e.fix) <= 400, e.fix
    assert not re.search(r"\bissue \d", e.fix + e.example, re.IGNORECASE)
    assert e.fix.strip() != CODES[code].meaning


def test_the_module_is_plain_data_and_imports_no_torch():
    code = ("import sys, spachc.diagnostics.explanations\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


# --- spec examples ----------------------------------------------------------------------------

SPEC_CODES = sorted(c for c, e in EXPLANATIONS.items() if e.kind == "spec")


def test_every_code_the_front_end_reports_on_text_has_a_spec_example():
    assert front_end_codes() <= set(SPEC_CODES), sorted(front_end_codes() - set(SPEC_CODES))
    assert set(SPEC_CODES) <= front_end_codes() | {"E002"}


@pytest.mark.parametrize("code", SPEC_CODES)
def test_a_spec_example_reports_its_code_and_nothing_else(code):
    diagnostics = check_text(EXPLANATIONS[code].example)
    assert {d.code for d in diagnostics} == {code}, [d.render() for d in diagnostics]
    expected = "warning" if code.startswith("W") else "error"
    assert {d.severity for d in diagnostics} == {expected}


# --- command examples -------------------------------------------------------------------------

COMMAND_CODES = sorted(c for c, e in EXPLANATIONS.items() if e.kind == "command")


def _subcommand(words: list[str]):
    """The (click) command a spachc argument list runs, and the arguments left for it.
    Groups are told by their `commands`: typer may bring its own copy of click's classes."""
    command, rest = typer.main.get_command(app), words[1:]
    while getattr(command, "commands", None) is not None:
        assert rest and rest[0] in command.commands, (words, sorted(command.commands))
        command, rest = command.commands[rest[0]], rest[1:]
    assert command.name == words[len(words) - len(rest) - 1]
    return command, rest


@pytest.mark.parametrize("code", COMMAND_CODES)
def test_a_command_example_is_a_real_command_line(code):
    example = EXPLANATIONS[code].example
    words = shlex.split(example, comments=True)
    if words[0] == "python":
        assert code in API_ONLY, f"{code}: only API-only codes have a python example"
        assert words[1] == "-c" and len(words) == 3, example
        compile(words[2], f"<{code}>", "exec")
        assert "import spachc" in words[2]
        return
    assert code not in API_ONLY
    words = command_words(example)
    assert words[0] == "spachc", example
    command, rest = _subcommand(words)
    # Parse the arguments as the command would: unknown options, missing required ones and
    # values of the wrong type fail here (callbacks that act, like --version, are not used).
    command.make_context(command.name, list(rest))


def test_api_only_codes_and_check_exceptions_are_codes():
    assert set(API_ONLY) <= set(CODES) and set(NOT_FROM_CHECK) <= set(CODES)


# The files the torch-free examples name, made in tmp_path.
def _make_files(code: str, folder) -> None:
    if code == "E001":
        (folder / "latin1.spach").write_bytes(b"model caf\xe9\nstage conv x2 dim 64\n")
    elif code == "E003":
        (folder / "weights.safetensors").write_bytes(b"\x00" * 1_200_000)
    elif code == "E004":
        (folder / "specs").mkdir()
        (folder / "specs" / "a.spach").write_text("stage conv x2 dim 64\n")
    elif code == "E005":
        (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64)
    elif code == "E007":
        path = folder / "locked.spach"
        path.write_text("stage conv x2 dim 64\n")
        path.chmod(0)
        if os.access(path, os.R_OK):
            pytest.skip("this user reads files whatever their mode (root)")
    elif code == "E169":
        (folder / "space.spach").write_text("stage {conv | trans} x2 dim 64\n")


TORCH_FREE = ("check", "fmt", "diff")
RUNNABLE = [c for c in COMMAND_CODES if command_words(EXPLANATIONS[c].example)[:2][-1] in TORCH_FREE
            and command_words(EXPLANATIONS[c].example)[0] == "spachc"]


def test_the_torch_free_examples_cover_the_file_codes():
    assert {"E001", "E003", "E004", "E005", "E006", "E008", "E169", "E953"} <= set(RUNNABLE)


@pytest.mark.parametrize("code", RUNNABLE)
def test_a_torch_free_command_example_prints_its_code(code, tmp_path, monkeypatch):
    _make_files(code, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command_words(EXPLANATIONS[code].example)[1:])
    assert result.exit_code != 0
    assert f"error[{code}]" in result.output, result.output
    assert "Traceback" not in result.output
