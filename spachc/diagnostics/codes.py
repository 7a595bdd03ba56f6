"""Every diagnostic code spachc can report, declared once: code, family, one-line meaning.

Each code is a module-level constant whose value is its own text (`E404 == "E404"`, a
plain str, so rendering and JSON see the same string), and call sites import the
constant: `error_at(E404, ...)`, `code = E1016`. A misspelt code is then an ImportError,
not a silent new code. A code is never reused for another meaning: retired codes stay
listed in RETIRED. docs/codes.md is generated from this module (`python -m
spachc.diagnostics.table`), and tests/unit/test_codes.py checks both that file and that no
other module spells a code as a string literal. Torch-free: the front end reports codes too.
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    code: str
    family: str
    meaning: str


class Retired(NamedTuple):
    """A code no longer reported: what it meant, why it went, and the code that reports
    the same problem now (None when the problem itself is gone)."""

    code: str
    meaning: str
    why: str
    replaced_by: str | None


CODES: dict[str, Code] = {}
_DECLARED: list[str] = []  # every declaration in order, a repeated one included (see duplicates())


def _code(code: str, family: str, meaning: str) -> str:
    """Register a code and return its text, for `E404 = _code("E404", ...)`."""
    _DECLARED.append(code)
    CODES.setdefault(code, Code(code, family, meaning))
    return code


E001 = _code("E001", "file", "the spec is not UTF-8")
E002 = _code("E002", "file", "the spec is empty")
E003 = _code("E003", "file", "the spec is too large")
E004 = _code("E004", "file", "the path is a directory")
E005 = _code("E005", "file", "the file is binary")
E006 = _code("E006", "file", "no such spec file or zoo name")
E007 = _code("E007", "file", "the file cannot be read")
E008 = _code("E008", "file",
              "a command given neither a SPEC nor `-e TEXT` (or both to `build`; train: nor --resume)")

E100 = _code("E100", "syntax", "unexpected character")
E101 = _code("E101", "syntax", "unexpected token")
E102 = _code("E102", "syntax", "unknown keyword (with the closest word)")
E103 = _code("E103", "syntax", "unknown block kind (with the closest word)")
E104 = _code("E104", "syntax", "a repeat count written `x 3`")
E105 = _code("E105", "syntax", "unexpected end of file")
E106 = _code("E106", "syntax", "a second pipeline")
E107 = _code("E107", "syntax", "no pipeline")

E110 = _code("E110", "space",
              "a choice alternative that does not fit its place (a number for a kind, a kind for a count)")
E111 = _code("E111", "space", "a `where` bound that is not a finite number")
E112 = _code("E112", "space",
              "a design space too large to check within the work limit (networks of too many blocks)")
E160 = _code("E160", "space",
              "a design space (a file with choices) given where a spec is needed: sample it first")
E161 = _code("E161", "space", "`$name` with no `choose name`")
E162 = _code("E162", "space", "`choose name` twice")
E163 = _code("E163", "space", "a bad or empty range, or a value listed twice")
E164 = _code("E164", "space", "an unknown `where` metric or an empty bound")
E166 = _code("E166", "space", "an alternative that never gives a valid network")
E167 = _code("E167", "space", "`where` bounds no valid network meets")
E169 = _code("E169", "space", "`fmt` of a design space (left as written)")

E201 = _code("E201", "duplicate", "a statement given twice (both places named)")
E202 = _code("E202", "duplicate", "an option given twice in one place")
E203 = _code("E203", "duplicate", "`hidden` without the conv4 stem")

E301 = _code("E301", "value", "not an integer")
E302 = _code("E302", "value", "a count or width below 1")
E303 = _code("E303", "value", "a ratio or scale <= 0")
E304 = _code("E304", "value", "drop_path outside [0, 1)")
E305 = _code("E305", "value", "a hidden width of 0")
E306 = _code("E306", "value", "a number out of range")
E309 = _code("E309", "value", "an IR read from JSON whose derived fields disagree with the rest")
E311 = _code("E311", "value", "too many blocks")

E401 = _code("E401", "geometry", "input not divisible by the patch")
E402 = _code("E402", "geometry", "conv4 patch odd")
E403 = _code("E403", "geometry", "odd token grid at a `down`")
E404 = _code("E404", "geometry", "heads not dividing dim")
E405 = _code("E405", "geometry", "`heads` missing for trans blocks")
E406 = _code("E406", "geometry", "first stage without `dim`")

E501 = _code("E501", "sharing", "`shared` without exactly one non-conv kind")
E502 = _code("E502", "sharing", "conv blocks with `cpe off`")
E503 = _code("E503", "sharing", "`shared` with a parameter-free kind (pool, shift)")

E601 = _code("E601", "override", "`--set`: unknown key or not KEY=VALUE")
E602 = _code("E602", "override", "`--set` on a weights file's spec")

E701 = _code("E701", "limits", "too many parameters (`--max-params`)")
E702 = _code("E702", "limits", "too large an activation for one image (`--max-activation-gb`)")

E801 = _code("E801", "upstream", "official checkpoint: no such file")
E802 = _code("E802", "upstream", "official checkpoint needs unpickling of code (refused)")
E803 = _code("E803", "upstream", "not a PyTorch checkpoint")
E804 = _code("E804", "upstream", "not a state_dict")
E805 = _code("E805", "upstream", "keys or shapes that do not fit the spec")

E811 = _code("E811", "weights", "weights or model file: no such file")
E812 = _code("E812", "weights", "weights or model file: truncated, corrupted header, or unreadable")
E813 = _code("E813", "weights", "weights file not written by spachc (no spec inside)")
E814 = _code("E814", "weights", "weights file whose embedded spec is invalid or was edited (hash)")
E815 = _code("E815", "weights", "weights file whose tensor bytes fail the checksum")
E816 = _code("E816", "weights", "weights whose tensors do not fit the spec (names, shapes, dtypes)")

E820 = _code("E820", "model_io",
              "a model source that is no kind spachc reads (a plain folder, an object, a lone .pth)")
E821 = _code("E821", "model_io",
              "`pretrained` weights of another architecture (what differs, in the diff engine's words)")
E822 = _code("E822", "model_io",
              "a create_model or save argument that cannot be honoured (pretrained, a headless model)")
E823 = _code("E823", "model_io", "weights header entry of the wrong type (tensor entry, metadata value)")
E824 = _code("E824", "model_io", "weights alias table that is not a JSON object of names")
E825 = _code("E825", "model_io", "weights header, metadata or config.json nested too deeply or too large")
E826 = _code("E826", "model_io", "preprocessing field of the wrong type or out of range")
E827 = _code("E827", "model_io", "label names that are not strings or do not match the spec's classes")
E828 = _code("E828", "model_io", "recorded preprocessing that does not fit the spec (input size, channels)")
E829 = _code("E829", "model_io", "a stored spec that is not a string or is too large")
E830 = _code("E830", "model_io", "weights checksum of an unknown scheme")
E831 = _code("E831", "model_io", "`save --labels FILE` or `--mean/--std` that cannot be read")

E900 = _code("E900", "export", "nothing to export")
E901 = _code("E901", "export", "bad `--batch`")
E902 = _code("E902", "export", "`--weights` with a source that already holds weights")
E904 = _code("E904", "export", "`--weights` of an unknown kind")
E905 = _code("E905", "export", "bf16 ONNX cannot be verified")
E906 = _code("E906", "export", "output is a directory")
E907 = _code("E907", "export", "int8 below its `--min-agreement`")
E908 = _code("E908", "export", "int8 options or calibration data unusable")
E909 = _code("E909", "export",
              "an export option the spec cannot take (`--dynamic-size` with a grid-tied kind, opset)")
E910 = _code("E910", "export", "verification failed: the file does not reproduce the module")

E951 = _code("E951", "output", "an output file that cannot be written")
E952 = _code("E952", "output", "Graphviz `dot` missing or failing (`graph --format svg`)")
E953 = _code("E953", "output", "a `REV:path` git cannot read, or the wrong number of specs (`diff`)")

E961 = _code("E961", "bench", "bench: --batch-size, --steps or --warmup out of range")
E962 = _code("E962", "bench", "bench: --mode not one of its choices")

E1001 = _code("E1001", "training", "data problems, or data and spec that do not fit")
E1002 = _code("E1002", "training", "a recipe value out of range")
E1003 = _code("E1003", "training", "resume refused")
E1004 = _code("E1004", "training", "non-finite loss or weights")
E1005 = _code("E1005", "training", "a checkpoint write failed")
E1006 = _code("E1006", "training", "stopped by a signal (a checkpoint was saved)")
E1007 = _code("E1007", "training", "ranks ended with different weights")
E1008 = _code("E1008", "training",
               "device unavailable or unknown, or a batch larger than the data (train, eval, bench)")
E1040 = _code("E1040", "training", "stopped by a signal outside a training step (eval, a sweep between runs)")
E1041 = _code("E1041", "training", "a state.pt whose contents fail its checksum (names the last good weights)")
E1042 = _code("E1042", "training", "a state.pt with a missing, wrongly typed or out-of-range entry")

E1011 = _code("E1011", "evaluation", "no weights file")
E1012 = _code("E1012", "evaluation", "no EMA weights")
E1013 = _code("E1013", "evaluation", "weights of another spec, with what differs (eval, export --weights)")
E1014 = _code("E1014", "evaluation", "not a state_dict")
E1016 = _code("E1016", "precision",
               "a `--dtype` or `--amp` unknown, or one the command cannot take (eval, bench, export)")

E1020 = _code("E1020", "fine-tuning",
               "`--init` names something that is not a model (or an official .pth without a head)")
E1021 = _code("E1021", "fine-tuning", "`--init` of a grid-tied spec at another token count")
E1022 = _code("E1022", "fine-tuning",
               "`--init` model whose architecture differs beyond the head (with what differs)")
E1023 = _code("E1023", "fine-tuning", "`--layer-decay` outside (0, 1]")
E1024 = _code("E1024", "fine-tuning", "`--freeze` naming a part the network does not have")
E1025 = _code("E1025", "fine-tuning",
               "`--init-spec`/`--init-partial` without `--init`; `--resume` with another `--init`")

E1201 = _code("E1201", "sizes", "another input size for a spec with grid-tied stages")
E1202 = _code("E1202", "sizes", "a size not divisible by the total stride")
E1203 = _code("E1203", "sizes", "not a B×C×H×W image batch of the spec's channels")
E1204 = _code("E1204", "sizes", "bad `--features` / `--out-indices`")

E1211 = _code("E1211", "folders", "an unreadable or altered model folder (`config.json`)")
E1212 = _code("E1212", "folders", "unreadable preprocessing or labels metadata")
E1213 = _code("E1213", "folders", "`save` into a folder holding other files")

E1221 = _code("E1221", "predict", "an image that cannot be decoded")
E1222 = _code("E1222", "predict", "a bad model argument or `--top-k`")

E1230 = _code("E1230", "timm contract", "a bad `num_classes` (`reset_classifier`, `build`)")
E1231 = _code("E1231", "timm contract", "an unsupported `global_pool` (`reset_classifier`, `build`)")

E1250 = _code("E1250", "images",
               "an image refused from its header before decoding: too many pixels, extreme aspect ratio")
E1251 = _code("E1251", "images", "non-finite model outputs (NaN or Inf probabilities)")

E1301 = _code("E1301", "study", "not a study folder")
E1302 = _code("E1302", "study", "a different study already in `-o`")
E1303 = _code("E1303", "study", "bad `--shard`")
E1304 = _code("E1304", "study", "settings differ from the study's")
E1305 = _code("E1305", "study",
               "a sample's spec edited after sampling, or a run folder trained on another spec")
E1306 = _code("E1306", "study", "report before any run")
E1307 = _code("E1307", "study", "too few distinct architectures for `-n`")
E1310 = _code("E1310", "study",
               "a sample id or spec path in study.json that is not allowed (it would leave the study)")
E1311 = _code("E1311", "study", "a study file unreadable, not valid JSON, wrongly typed or nested too deeply")
E1312 = _code("E1312", "study", "the study folder or its runs/ cannot be written")
E1320 = _code("E1320", "study", "`--stratify` names no choice of the space")
E1321 = _code("E1321", "study", "a run of a study failed with an uncoded error (recorded, the study goes on)")
E1322 = _code("E1322", "study", "bad `--budgets` or `--halving` (successive halving)")
E1323 = _code("E1323", "study", "`--ray`: the study folder is not visible on every Ray node")
E1324 = _code("E1324", "study", "`--ray` without Ray installed (extra spachc[ray])")
E1325 = _code("E1325", "study", "a Ray task failed after its retries")
E1326 = _code("E1326", "study", "bad `--objectives`, or a search folder used otherwise")
E1327 = _code("E1327", "study", "`sweep search` without Optuna installed (extra spachc[search])")

E1400 = _code("E1400", "explain", "`spachc explain` of a code that was never registered")

E1410 = _code("E1410", "runtime", "`--threads` (or SPACHC_THREADS) below 1")

E1430 = _code("E1430", "data sets",
               "a split name that is neither `train` nor `val` (spachc.datasets.open_dataset)")
E1431 = _code("E1431", "data sets", "write_image_folder into a folder that already holds something")
E1432 = _code("E1432", "data sets",
               "a class name that cannot name a folder, or two classes of one name (write_image_folder)")
E1433 = _code("E1433", "data sets", "an image folder that cannot be written (permissions, a full disk)")

W101 = _code("W101", "warning", "head_dim not a multiple of 8")
W102 = _code("W102", "warning", "head_dim above 256")
W103 = _code("W103", "warning", "an option with no effect in its stage")
W104 = _code("W104", "warning", "`shift` with dim < 12 (moves nothing)")
W160 = _code("W160", "warning", "a `choose` that is never used")
W1001 = _code("W1001", "warning", "warm-up and cool-down take more epochs than the run")
W1020 = _code("W1020", "warning", "fine-tuning settings (`--freeze`, `--recipe finetune`) without `--init`")
W1250 = _code("W1250", "warning", "a spec input far larger than the data's images (upsampled)")


# Codes that once meant something and are never given a new meaning.
RETIRED: dict[str, Retired] = {r.code: r for r in (
    Retired("E108", "no `input`", "`input` has a default (224)", None),
    Retired("E109", "no `stem`", "`stem` has a default (conv1, patch 4 with a `down`, else 16)", None),
    Retired("E903", "`export --weights` of another spec", "eval and export share one weights dispatch", E1013),
    Retired("E1015", "eval's device problems", "train, eval and bench share one device check", E1008),
)}


def meaning(code: str) -> str:
    return CODES[code].meaning


def families() -> dict[str, list[str]]:
    """Each family with its codes, in the order they are declared."""
    found: dict[str, list[str]] = {}
    for c in CODES.values():
        found.setdefault(c.family, []).append(c.code)
    return found


def duplicates() -> list[str]:
    """Codes declared more than once, or declared although retired (must be none)."""
    seen: set[str] = set(RETIRED)
    return [c for c in _DECLARED if c in seen or seen.add(c)]
