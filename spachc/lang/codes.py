"""Every diagnostic code spachc can report, declared once: code, family, one-line meaning.

A code is never reused for another meaning. `tests/test_codes.py` checks this table
against README's table of codes and against every code written in the source, so a
new code is added here (one line) and to README's table, and nowhere else is its
meaning defined. Torch-free: the front end reports codes too.
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    code: str
    family: str
    meaning: str


_TABLE = (
    Code("E001", "file", "the spec is not UTF-8"),
    Code("E002", "file", "the spec is empty"),
    Code("E003", "file", "the spec is too large"),
    Code("E004", "file", "the path is a directory"),
    Code("E005", "file", "the file is binary"),
    Code("E006", "file", "no such spec file or zoo name"),
    Code("E007", "file", "the file cannot be read"),
    Code("E008", "file", "a command given neither a SPEC nor `-e TEXT` (or both to `build`; train: nor --resume)"),
    Code("E100", "syntax", "unexpected character"),
    Code("E101", "syntax", "unexpected token"),
    Code("E102", "syntax", "unknown keyword (with the closest word)"),
    Code("E103", "syntax", "unknown block kind (with the closest word)"),
    Code("E104", "syntax", "a repeat count written `x 3`"),
    Code("E105", "syntax", "unexpected end of file"),
    Code("E106", "syntax", "a second pipeline"),
    Code("E107", "syntax", "no pipeline"),
    Code("E110", "space", "a choice alternative that does not fit its place (a number for a kind, a kind for a count)"),
    Code("E111", "space", "a `where` bound that is not a finite number"),
    Code("E112", "space", "a design space too large to check within the work limit (networks of too many blocks)"),
    Code("E160", "space", "a design space (a file with choices) given where a spec is needed: sample it first"),
    Code("E161", "space", "`$name` with no `choose name`"),
    Code("E162", "space", "`choose name` twice"),
    Code("E163", "space", "a bad or empty range, or a value listed twice"),
    Code("E164", "space", "an unknown `where` metric or an empty bound"),
    Code("E166", "space", "an alternative that never gives a valid network"),
    Code("E167", "space", "`where` bounds no valid network meets"),
    Code("E169", "space", "`fmt` of a design space (left as written)"),
    Code("W160", "warning", "a `choose` that is never used"),
    Code("E1301", "study", "not a study folder"),
    Code("E1302", "study", "a different study already in `-o`"),
    Code("E1303", "study", "bad `--shard`"),
    Code("E1304", "study", "settings differ from the study's"),
    Code("E1305", "study", "a sample's spec edited after sampling, or a run folder trained on another spec"),
    Code("E1306", "study", "report before any run"),
    Code("E1307", "study", "too few distinct architectures for `-n`"),
    Code("E1310", "study", "a sample id or spec path in study.json that is not allowed (it would leave the study)"),
    Code("E1311", "study", "a study file unreadable, not valid JSON, wrongly typed or nested too deeply"),
    Code("E1312", "study", "the study folder or its runs/ cannot be written"),
    Code("E201", "duplicate", "a statement given twice (both places named)"),
    Code("E202", "duplicate", "an option given twice in one place"),
    Code("E203", "duplicate", "`hidden` without the conv4 stem"),
    Code("E301", "value", "not an integer"),
    Code("E302", "value", "a count or width below 1"),
    Code("E303", "value", "a ratio or scale <= 0"),
    Code("E304", "value", "drop_path outside [0, 1)"),
    Code("E305", "value", "a hidden width of 0"),
    Code("E306", "value", "a number out of range"),
    Code("E309", "value", "an IR read from JSON whose derived fields disagree with the rest"),
    Code("E311", "value", "too many blocks"),
    Code("E401", "geometry", "input not divisible by the patch"),
    Code("E402", "geometry", "conv4 patch odd"),
    Code("E403", "geometry", "odd token grid at a `down`"),
    Code("E404", "geometry", "heads not dividing dim"),
    Code("E405", "geometry", "`heads` missing for trans blocks"),
    Code("E406", "geometry", "first stage without `dim`"),
    Code("E501", "sharing", "`shared` without exactly one non-conv kind"),
    Code("E502", "sharing", "conv blocks with `cpe off`"),
    Code("E503", "sharing", "`shared` with a parameter-free kind (pool, shift)"),
    Code("E601", "override", "`--set`: unknown key or not KEY=VALUE"),
    Code("E602", "override", "`--set` on a weights file's spec"),
    Code("E701", "limits", "too many parameters (`--max-params`)"),
    Code("E702", "limits", "too large an activation for one image (`--max-activation-gb`)"),
    Code("E801", "upstream", "official checkpoint: no such file"),
    Code("E802", "upstream", "official checkpoint needs unpickling of code (refused)"),
    Code("E803", "upstream", "not a PyTorch checkpoint"),
    Code("E804", "upstream", "not a state_dict"),
    Code("E805", "upstream", "keys or shapes that do not fit the spec"),
    Code("E811", "weights", "weights or model file: no such file"),
    Code("E812", "weights", "weights or model file: truncated, corrupted header, or unreadable"),
    Code("E813", "weights", "weights file not written by spachc (no spec inside)"),
    Code("E814", "weights", "weights file whose embedded spec is invalid or was edited (hash)"),
    Code("E815", "weights", "weights file whose tensor bytes fail the checksum"),
    Code("E816", "weights", "weights whose tensors do not fit the spec (names, shapes, dtypes)"),
    Code("E900", "export", "nothing to export"),
    Code("E901", "export", "bad `--batch`"),
    Code("E902", "export", "`--weights` with a source that already holds weights"),
    Code("E904", "export", "`--weights` of an unknown kind"),
    Code("E905", "export", "bf16 ONNX cannot be verified"),
    Code("E906", "export", "output is a directory"),
    Code("E907", "export", "int8 below its `--min-agreement`"),
    Code("E908", "export", "int8 options or calibration data unusable"),
    Code("E909", "export", "an export option the spec cannot take (`--dynamic-size` with a grid-tied kind, opset)"),
    Code("E910", "export", "verification failed: the file does not reproduce the module"),
    Code("E951", "output", "an output file that cannot be written"),
    Code("E952", "output", "Graphviz `dot` missing or failing (`graph --format svg`)"),
    Code("E953", "output", "a `REV:path` git cannot read, or the wrong number of specs (`diff`)"),
    Code("E961", "bench", "bench: --batch-size, --steps, --warmup or --threads out of range"),
    Code("E962", "bench", "bench: --mode, --device or --amp not one of its choices"),
    Code("E1001", "training", "data problems, or data and spec that do not fit"),
    Code("E1002", "training", "a recipe value out of range"),
    Code("E1003", "training", "resume refused"),
    Code("E1004", "training", "non-finite loss or weights"),
    Code("E1005", "training", "a checkpoint write failed"),
    Code("E1006", "training", "stopped by a signal (a checkpoint was saved)"),
    Code("E1007", "training", "ranks ended with different weights"),
    Code("E1008", "training", "device unavailable or unknown, or a batch larger than the data (train, eval, bench)"),
    Code("E1011", "evaluation", "no weights file"),
    Code("E1012", "evaluation", "no EMA weights"),
    Code("E1013", "evaluation", "weights of another spec, with what differs (eval, export --weights)"),
    Code("E1014", "evaluation", "not a state_dict"),
    Code("E1016", "evaluation", "unknown `--dtype` (precision)"),
    Code("E1201", "sizes", "another input size for a spec with grid-tied stages"),
    Code("E1202", "sizes", "a size not divisible by the total stride"),
    Code("E1203", "sizes", "not a B×C×H×W image batch of the spec's channels"),
    Code("E1204", "sizes", "bad `--features` / `--out-indices`"),
    Code("E1211", "folders", "an unreadable or altered model folder (`config.json`)"),
    Code("E1212", "folders", "unreadable preprocessing or labels metadata"),
    Code("E1213", "folders", "`save` into a folder holding other files"),
    Code("E1221", "predict", "an image that cannot be decoded"),
    Code("E1222", "predict", "a bad model argument or `--top-k`"),
    Code("W101", "warning", "head_dim not a multiple of 8"),
    Code("W102", "warning", "head_dim above 256"),
    Code("W103", "warning", "an option with no effect in its stage"),
    Code("W104", "warning", "`shift` with dim < 12 (moves nothing)"),
    Code("W1001", "warning", "warm-up and cool-down take more epochs than the run"),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}

# Codes that once meant something and are never given a new meaning.
RETIRED = {
    "E108": "no `input` (issue 10: `input` has a default)",
    "E109": "no `stem` (issue 10: `stem` has a default)",
    "E903": "export --weights of another spec; now E1013 like eval (one weights dispatch)",
    "E1015": "eval's device problems; now E1008 like train and bench",
}


def meaning(code: str) -> str:
    return CODES[code].meaning


def duplicates() -> list[str]:
    """Codes declared more than once (must be none)."""
    seen: set[str] = set(RETIRED)
    return [c.code for c in _TABLE if c.code in seen or seen.add(c.code)]
