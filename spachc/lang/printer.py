"""Canonical text: `fmt` for documents (comments kept) and `to_text` for an IR.

Canonical form (LANGUAGE.md): statements in the order model, input, classes, stem,
defaults, drop_path; a blank line; the pipeline, first stage on its own line and
each `-> down -> stage ...` on its own line; options in table order; numbers in their
shortest exact form. Comments stay attached to the line they precede or follow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

from .ir import Spec
from .options import (DEFAULT_CHANNELS, DEFAULT_CONV4_HIDDEN, INT_OPTIONS, OPTION_ORDER, STAGE_OPTIONS,
                      STATEMENT_ORDER, STATEMENTS, default_heads)
from .syntax import Document, Option, Stage, Statement

_INT = re.compile(r"[+-]?[0-9]+")
_INT_OPTIONS = INT_OPTIONS | {arg for st in STATEMENTS.values() for arg in st.int_args}


def format_number(x: float) -> str:
    """Shortest text that reads back as exactly `x`: 3, 0.5, 1e-4, 1e3."""
    if x == 0:
        return "0"
    d = Decimal(repr(float(x))).normalize()
    sign, digits, exponent = d.as_tuple()
    mantissa = "".join(map(str, digits))
    exp10 = exponent + len(digits) - 1
    sci = ("-" if sign else "") + mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    sci += f"e{exp10}" if exp10 else ""
    plain = format(d, "f")
    return plain if len(plain) <= len(sci) else sci


def _number_text(text: str, integer: bool) -> str:
    if _INT.fullmatch(text):
        return str(int(text))
    if integer:  # invalid, but fmt does not judge meaning: keep it readable
        return text
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to inf: invalid too (check says so), kept as written
        return text
    return format_number(value)


def _option_text(opt: Option) -> str:
    if opt.value is None:
        return opt.name
    text = opt.value.text
    if text in ("on", "off") or opt.name in ("kind", "name", "schedule"):
        return f"{opt.name} {text}"
    return f"{opt.name} {_number_text(text, opt.name in _INT_OPTIONS)}"


def _sorted_options(options) -> list[Option]:
    return sorted(options, key=lambda o: OPTION_ORDER.index(o.name))


def statement_text(st: Statement) -> str:
    if st.keyword == "defaults":
        return " ".join(["defaults"] + [_option_text(o) for o in _sorted_options(st.args)])
    if st.keyword == "input":
        size = st.arg("size").value.text
        if "x" in size:
            h, w = (str(int(v)) for v in size.split("x"))
            size = h if h == w else f"{h}x{w}"
        else:
            size = _number_text(size, True)
        channels = st.arg("channels")
        return f"input {size}" + (f" {_option_text(channels)}" if channels else "")
    if st.keyword == "stem":
        kind = st.arg("kind").value.text if st.arg("kind") else "conv1"
        parts = ["stem", kind, _option_text(st.arg("patch"))]
        if st.arg("hidden"):
            parts.append(_option_text(st.arg("hidden")))
        return " ".join(parts)
    value = st.args[0].value.text
    if st.keyword == "model":
        return f"model {value}"
    if st.keyword == "drop_path":
        schedule = st.arg("schedule")
        return f"drop_path {_number_text(value, False)}" + (f" {schedule.value.text}" if schedule else "")
    return f"{st.keyword} {_number_text(value, st.keyword == 'classes')}"


def stage_text(stage: Stage) -> str:
    groups = ", ".join(f"{g.kind.text} x{int(g.count_text)}" for g in stage.groups)
    options = " ".join(_option_text(o) for o in _sorted_options(stage.options))
    body = f"stage {groups}" + (f" {options}" if options else "")
    return f"-> down -> {body}" if stage.down is not None else body


# --- fmt: a Document with its comments --------------------------------------------------

@dataclass
class _Unit:
    text: str
    start: int
    end: int
    is_stage: bool
    order: tuple
    leading: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)


def format_document(doc: Document) -> str:
    units = [
        _Unit(statement_text(st), st.span.start_pos, st.span.end_pos, False, (STATEMENT_ORDER.index(st.keyword), i))
        for i, st in enumerate(doc.statements)
    ]
    for p, pipeline in enumerate(doc.pipelines):
        for i, stage in enumerate(pipeline):
            span = stage.unit_span
            units.append(_Unit(stage_text(stage), span.start_pos, span.end_pos, True,
                               (len(STATEMENT_ORDER), span.start_pos, p, i)))
    tail = _attach_comments(doc, units)
    lines: list[str] = []
    statements = sorted((u for u in units if not u.is_stage), key=lambda u: u.order)
    stages = sorted((u for u in units if u.is_stage), key=lambda u: u.order)
    for unit in statements:
        lines += _unit_lines(unit)
    for i, unit in enumerate(stages):
        if i == 0 and lines:
            lines.append("")
        if i and unit.text.startswith("stage"):  # a second pipeline: keep it visibly apart
            lines.append("")
        lines += _unit_lines(unit)
    lines += tail
    return "\n".join(lines).rstrip("\n") + "\n" if lines else ""


def _unit_lines(unit: _Unit) -> list[str]:
    """A unit's first trailing comment stays on its line; further ones (from a unit split
    over several lines) go above it, which keeps fmt idempotent."""
    above = unit.leading + unit.trailing[1:]
    line = unit.text + (f"  {unit.trailing[0]}" if unit.trailing else "")
    return above + [line]


def _attach_comments(doc: Document, units: list[_Unit]) -> list[str]:
    by_start = sorted(units, key=lambda u: u.start)
    tail: list[str] = []
    text = doc.source.text
    for comment in doc.comments:
        pos = comment.span.start_pos
        line_start = text.rfind("\n", 0, pos) + 1
        code_before = text[line_start:pos].strip() != ""
        if code_before:
            owner = [u for u in by_start if u.start < pos][-1]
            owner.trailing.append(comment.text)
            continue
        following = [u for u in by_start if u.end > pos]
        if following:
            following[0].leading.append(comment.text)
        else:
            tail.append(comment.text)
    return tail


# --- to_text: an IR, printed minimally --------------------------------------------------

_FACTORABLE = tuple(n for n, o in STAGE_OPTIONS.items() if n not in ("dim", "shared"))


def _relevant(stage, name: str) -> bool:
    return STAGE_OPTIONS[name].applies(stage.kinds)


def _builtin(spec: Spec, name: str):
    return default_heads(spec.stages[0].dim) if name == "heads" else STAGE_OPTIONS[name].default


def _value_text(name: str, value) -> str:
    kind = STAGE_OPTIONS[name].type
    if kind == "switch":
        return f"{name} {'on' if value else 'off'}"
    if kind == "number_or_off" and value is None:
        return f"{name} off"
    if kind == "int":
        return f"{name} {value}"
    return f"{name} {format_number(value)}"


def to_text(spec: Spec) -> str:
    """Canonical text of an IR; parsing it gives back the same IR."""
    h, w = spec.input
    lines = [f"model {spec.name}", f"input {h if h == w else f'{h}x{w}'}"
             + (f" channels {spec.channels}" if spec.channels != DEFAULT_CHANNELS else ""), f"classes {spec.classes}"]
    stem = f"stem {spec.stem.kind} patch {spec.stem.patch}"
    if spec.stem.kind == "conv4" and spec.stem.hidden != DEFAULT_CONV4_HIDDEN:
        stem += f" hidden {spec.stem.hidden}"
    lines.append(stem)
    defaults = _factor_defaults(spec)
    if defaults:
        lines.append("defaults " + " ".join(_value_text(k, defaults[k]) for k in _FACTORABLE if k in defaults))
    if spec.drop_path:
        schedule = spec.drop_path_schedule
        lines.append(f"drop_path {format_number(spec.drop_path)}" + (" constant" if schedule == "constant" else ""))
    lines.append("")
    previous_dim = None
    for i, stage in enumerate(spec.stages):
        groups = ", ".join(f"{g.kind} x{g.repeat}" for g in stage.groups)
        options = []
        if previous_dim is None or stage.dim != 2 * previous_dim:
            options.append(f"dim {stage.dim}")
        for name in _FACTORABLE:
            if not _relevant(stage, name):
                continue
            value = getattr(stage, name)
            baseline = defaults.get(name, _builtin(spec, name))
            if value != baseline:
                options.append(_value_text(name, value))
        if stage.shared:
            options.append("shared")
        body = f"stage {groups}" + (" " + " ".join(options) if options else "")
        lines.append(body if i == 0 else f"-> down -> {body}")
        previous_dim = stage.dim
    return "\n".join(lines) + "\n"


def _factor_defaults(spec: Spec) -> dict:
    """Options that every stage they matter to agrees on (and that differ from the
    built-in default) are written once in `defaults`."""
    if len(spec.stages) < 2:
        return {}
    out = {}
    for name in _FACTORABLE:
        values = [getattr(s, name) for s in spec.stages if _relevant(s, name)]
        if values and all(v == values[0] for v in values) and values[0] != _builtin(spec, name):
            out[name] = values[0]
    return out
