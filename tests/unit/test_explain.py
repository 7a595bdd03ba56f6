"""`spachc explain [CODE]`: a code's family and meaning from the registry, an example and the fix
from the explanations; unknown codes are E1400 with a did-you-mean, retired codes say what replaced them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from spachc.cli.app import app
from spachc.diagnostics.explanations import EXPLANATIONS



def explain(*args: str):
    return CliRunner().invoke(app, ["explain", *args])


def test_a_spec_code_shows_its_meaning_the_spec_that_triggers_it_and_the_fix():
    result = explain("E404")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "E404 (geometry): heads not dividing dim"
    assert "Example: a spec that `spachc check` reports E404 on:" in lines
    example = EXPLANATIONS["E404"].example.rstrip("\n").splitlines()
    start = lines.index("    " + example[0])
    assert lines[start:start + len(example)] == ["    " + line for line in example]
    fix = " ".join(line.strip() for line in lines[lines.index("Fix:") + 1:])
    assert fix == EXPLANATIONS["E404"].fix
    assert explain("e404").stdout == result.stdout  # the case a user types does not matter


def test_a_command_code_shows_the_command_line():
    result = explain("E1008")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("E1008 (training): device unavailable or unknown")
    assert f"    $ {EXPLANATIONS['E1008'].example.strip()}" in result.stdout.splitlines()
    assert "W160 (warning): a `choose` that is never used" in explain("W160").stdout


def test_an_unknown_code_is_E1400_with_the_closest_code():
    result = explain("E4040")
    assert result.exit_code == 1
    assert "error[E1400]: unknown diagnostic code 'E4040'" in result.stderr
    assert "= hint: did you mean 'E404'?" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    nothing_close = explain("zzz")
    assert nothing_close.exit_code == 1 and "error[E1400]" in nothing_close.stderr
    assert "`spachc explain` lists the families" in nothing_close.stderr


def test_a_retired_code_says_it_is_retired_and_what_reports_it_now():
    replaced = explain("E903")
    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout.startswith("E903 is retired and never reused.")
    assert "reported now as E1013:" in replaced.stdout
    assert "E1013 (evaluation): weights of another spec" in replaced.stdout
    gone = explain("E108")
    assert gone.exit_code == 0 and "It meant: no `input`." in gone.stdout
    assert "nothing reports it now" in gone.stdout


def test_no_code_lists_the_families_and_a_family_lists_its_codes():
    listing = explain()
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[2:]}
    assert "E401–E406" in rows["geometry"]
    assert rows["retired"].split(None, 1)[1] == "E108, E109, E903, E1015"
    assert "E1301–E1307, E1310–E1312, E1320–E1327" in rows["study"]
    assert "W101–W104, W160, W1001, W1020, W1250" in rows["warning"]
    family = explain("Geometry")
    assert family.exit_code == 0
    assert [line.split()[0] for line in family.stdout.splitlines()[1:]] == [f"E40{i}" for i in range(1, 7)]


def test_json_prints_the_same_entries():
    code = json.loads(explain("E404", "--json").stdout)
    assert code["code"] == "E404" and code["family"] == "geometry" and code["severity"] == "error"
    assert code["meaning"] == "heads not dividing dim"
    assert (code["example"], code["example_kind"], code["fix"]) == tuple(EXPLANATIONS["E404"])
    assert json.loads(explain("W101", "--json").stdout)["severity"] == "warning"
    retired = json.loads(explain("E1015", "--json").stdout)
    assert retired["kind"] == "retired" and retired["replaced_by"] == "E1008"
    assert retired["now"]["code"] == "E1008"
    listing = json.loads(explain("--json").stdout)
    families = {f["family"]: f["codes"] for f in listing["families"]}
    assert families["geometry"] == ["E401", "E402", "E403", "E404", "E405", "E406"]
    assert listing["retired"] == ["E108", "E109", "E903", "E1015"]
    unknown = explain("E4040", "--json")
    assert unknown.exit_code == 1 and "error[E1400]" in unknown.stderr


