"""Document (what was written) to Spec (what it means), reporting every static error
at the text that caused it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ..diagnostics import Diagnostic, Note, Span, SpecError, error_at, warning_at
from .ir import Group, Spec, Stage, Stem, drop_path_rates, expand_blocks, halve, stem_grid
from .kinds import KINDS
from .options import (DEFAULT_CHANNELS, DEFAULT_CLASSES, DEFAULT_CONV4_HIDDEN, DEFAULT_INPUT, STAGE_OPTIONS,
                      default_heads, default_patch)
from .rules import check
from .syntax import Document, Option, Statement, Value
from .syntax import Stage as StageNode

MAX_BLOCKS = 100_000
NAME_PATTERN = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_.+]|-(?!>))*")


@dataclass
class SourceMap:
    """IR path -> the span of the text that decided it."""

    spans: dict[tuple, Span] = field(default_factory=dict)
    fallback: Span | None = None

    def __setitem__(self, path: tuple, span: Span) -> None:
        self.spans[path] = span

    def span_for(self, path: tuple) -> Span | None:
        for n in range(len(path), 0, -1):
            if path[:n] in self.spans:
                return self.spans[path[:n]]
        return self.fallback


@dataclass
class Resolved:
    spec: Spec
    sources: SourceMap
    warnings: tuple[Diagnostic, ...]


class _Collector:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, *args, **kw) -> None:
        self.diagnostics.append(error_at(*args, **kw))

    def warning(self, *args, **kw) -> None:
        self.diagnostics.append(warning_at(*args, **kw))

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def raise_if_failed(self) -> None:
        if self.failed:
            raise SpecError(sorted(self.diagnostics, key=_position))


def _position(d: Diagnostic) -> tuple[int, int]:
    return (d.line, d.column)


def resolve(doc: Document) -> Resolved:
    from .choices import is_space, sample_it_first

    if is_space(doc):
        raise SpecError([sample_it_first(doc)])
    out = _Collector()
    sources = SourceMap(fallback=Span.at_offset(doc.source, 0))
    statements = _unique_statements(doc, out)
    stage_nodes = _the_pipeline(doc, out)
    out.raise_if_failed()

    top = _resolve_top(doc, statements, len(stage_nodes), sources, out)
    defaults = _options(statements.get("defaults").args if "defaults" in statements else (), "defaults", out)
    stages = _resolve_stages(stage_nodes, defaults, top, sources, out)
    out.raise_if_failed()

    schedule = top.pop("schedule")
    draft = Spec.model_construct(stages=tuple(stages), **top)
    at_one_place: dict[tuple, list] = {}  # one value (a `defaults` option) may break several stages
    for v in check(draft):
        span = sources.span_for(v.path)
        hint = v.hint
        if v.code == "E404" and v.path[-1] == "heads" and v.path not in sources.spans:
            first = stages[0].dim
            hint = (f"the default heads is max(1, first stage's dim {first} // 32) = {default_heads(first)}; "
                    f"write `heads N` here or in `defaults` ({v.hint})")
        at_one_place.setdefault((v.code, v.severity, span), []).append((v, hint if v.severity == "error" else v.hint))
    for (code, severity, span), found in at_one_place.items():
        message, hint = _one_message(found)
        (out.error if severity == "error" else out.warning)(code, message, span, hint=hint)
    out.raise_if_failed()
    spec = Spec.model_validate(draft.model_dump())
    assert spec.drop_path_schedule == schedule or not spec.drop_path
    return Resolved(spec, sources, tuple(sorted(out.diagnostics, key=_position)))


def _one_message(found: list) -> tuple[str, str | None]:
    """The violations of one rule at one place as one diagnostic, naming the stages each is
    about (`defaults heads 3` breaking two stages prints once, with both)."""
    if len({v.message for v, _ in found}) == 1:  # the same words for every stage: said once, as before
        return found[0][0].message, found[0][1]
    message = "; ".join(f"{v.message} ({_where(v.path)})" for v, _ in found)
    hints = list(dict.fromkeys(h for _, h in found if h))
    return message, "; ".join(hints) or None


def _where(path: tuple) -> str:
    return f"stage {path[1] + 1}" if len(path) > 1 and path[0] == "stages" else ".".join(map(str, path))


# --- structure ------------------------------------------------------------------------

def _unique_statements(doc: Document, out: _Collector) -> dict[str, Statement]:
    seen: dict[str, Statement] = {}
    for st in doc.statements:
        if st.keyword in seen:
            first = seen[st.keyword]
            out.error("E201", f"`{st.keyword}` is given twice", st.key_span,
                      notes=(Note("first given here", first.key_span),), hint="keep one of them")
        else:
            seen[st.keyword] = st
    return seen


def _the_pipeline(doc: Document, out: _Collector) -> tuple[StageNode, ...]:
    if not doc.pipelines:
        out.error("E107", "the spec has no pipeline", Span.at_offset(doc.source, len(doc.source.text.rstrip())),
                  hint="add one, e.g. `stage conv x2 dim 64 -> down -> stage trans x2`")
        return ()
    for extra in doc.pipelines[1:]:
        out.error("E106", "a spec has exactly one pipeline, but a second one starts here", extra[0].key_span,
                  notes=(Note("the first starts here", doc.pipelines[0][0].key_span),),
                  hint="join stages with `-> down ->`")
    return doc.pipelines[0]


# --- values ---------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+")


MAX_INT = 1_000_000_000
MAX_RATIO = 1_000_000.0


def _int(value: Value, what: str, out: _Collector) -> int | None:
    if not _INT.fullmatch(value.text):
        out.error("E301", f"{what} must be an integer, got '{value.text}'", value.span)
        return None
    if len(value.text) > 12 or abs(int(value.text)) > MAX_INT:
        out.error("E306", f"{what} {value.text} is out of range (at most {MAX_INT:,})", value.span)
        return None
    return int(value.text)


def _float(value: Value, what: str, out: _Collector) -> float | None:
    number = float(value.text)
    if not math.isfinite(number) or abs(number) > MAX_RATIO:
        out.error("E306", f"{what} {value.text} is out of range (at most {MAX_RATIO:,.0f})", value.span)
        return None
    return number


def _switch(value: Value) -> bool:
    return value.text == "on"


def _options(options: tuple[Option, ...], where: str, out: _Collector) -> dict[str, Option]:
    seen: dict[str, Option] = {}
    for opt in options:
        if opt.name in seen:
            out.error("E202", f"option `{opt.name}` is given twice in {where}", opt.key_span,
                      notes=(Note("first given here", seen[opt.name].key_span),), hint="keep one of them")
        else:
            seen[opt.name] = opt
    return seen


def _option_value(opt: Option, out: _Collector):
    """The written value, read as the options table says its type is."""
    kind, value = STAGE_OPTIONS[opt.name].type, opt.value
    if kind == "flag":
        return True
    if kind == "switch":
        return _switch(value)
    if kind == "number_or_off" and value.text == "off":
        return None
    if kind == "int":
        return _int(value, opt.name, out)
    return _float(value, opt.name, out)


# --- top level ------------------------------------------------------------------------

def _resolve_top(doc: Document, statements: dict[str, Statement], n_stages: int, sources: SourceMap,
                 out: _Collector) -> dict:
    top: dict = {"name": _default_name(doc.source.name), "classes": DEFAULT_CLASSES, "channels": DEFAULT_CHANNELS,
                 "drop_path": 0.0, "schedule": "linear"}
    if "model" in statements:
        top["name"] = statements["model"].args[0].value.text
    if "input" not in statements:
        top["input"] = (DEFAULT_INPUT, DEFAULT_INPUT)
    else:
        st = statements["input"]
        size = st.arg("size").value
        sources[("input",)] = size.span
        top["input"] = _size(size, out)
        if (channels := st.arg("channels")) is not None:
            sources[("channels",)] = channels.value.span
            top["channels"] = _int(channels.value, "channels", out)
    if "classes" in statements:
        count = statements["classes"].args[0].value
        sources[("classes",)] = count.span
        top["classes"] = _int(count, "classes", out)
    if "drop_path" in statements:
        st = statements["drop_path"]
        rate = st.arg("rate").value
        sources[("drop_path",)] = rate.span
        top["drop_path"] = _float(rate, "drop_path", out)
        if st.arg("schedule") is not None:
            top["schedule"] = st.arg("schedule").value.text
    top["stem"] = _resolve_stem(statements.get("stem"), n_stages, sources, out)
    return top


def _default_name(source_name: str) -> str:
    stem = PurePath(source_name).stem if source_name.endswith(".spach") else "spec"
    return stem if NAME_PATTERN.fullmatch(stem) else (re.sub(r"[^A-Za-z0-9_.+]", "_", stem).lstrip(".+0123456789") or "spec")


def _size(value: Value, out: _Collector) -> tuple[int, int]:
    if "x" in value.text:
        h, w = value.text.split("x")
        if max(len(h), len(w)) > 9:
            out.error("E306", f"input {value.text} is out of range (at most {MAX_INT:,} a side)", value.span)
            return (1, 1)
        return int(h), int(w)
    side = _int(value, "input", out)
    return (side, side) if side is not None else (1, 1)


def _resolve_stem(st: Statement | None, n_stages: int, sources: SourceMap, out: _Collector) -> Stem:
    if st is None:
        return Stem.model_construct(kind="conv1", patch=default_patch(n_stages), hidden=None)
    sources[("stem",)] = st.key_span
    kind = st.arg("kind").value.text if st.arg("kind") else "conv1"
    patch = st.arg("patch")
    sources[("stem", "patch")] = patch.value.span
    hidden = st.arg("hidden")
    hidden_value = None
    if hidden is not None:
        sources[("stem", "hidden")] = hidden.value.span
        if kind != "conv4":
            out.error("E203", "`hidden` is only meaningful with the conv4 stem", hidden.span,
                      hint="write `stem conv4 patch P hidden H`, or drop `hidden`")
        hidden_value = _int(hidden.value, "hidden", out)
    elif kind == "conv4":
        hidden_value = DEFAULT_CONV4_HIDDEN
    return Stem.model_construct(kind=kind, patch=_int(patch.value, "patch", out) or 1, hidden=hidden_value)


# --- stages ---------------------------------------------------------------------------

def _resolve_stages(nodes: tuple[StageNode, ...], defaults: dict[str, Option], top: dict,
                    sources: SourceMap, out: _Collector) -> list[Stage]:
    groups_per_stage = [_groups(node, i, sources, out) for i, node in enumerate(nodes)]
    depth = sum(g.repeat for groups in groups_per_stage for g in groups)
    if depth > MAX_BLOCKS and not out.failed:
        out.error("E311", f"the network has {depth:,} blocks; the limit is {MAX_BLOCKS:,}", nodes[0].key_span)
    if out.failed:
        return []
    rates = drop_path_rates(top["drop_path"] or 0.0, depth, top["schedule"])
    input_ok = all(isinstance(v, int) and v > 0 for v in top["input"]) and top["stem"].patch > 0
    grid = stem_grid(top["input"], top["stem"].patch) if input_ok else (0, 0)
    stages, dim, used = [], None, 0
    for i, (node, groups) in enumerate(zip(nodes, groups_per_stage)):
        if i:
            grid = halve(grid)
            sources[("stages", i, "down")] = node.down
        own = _options(node.options, f"stage {i + 1}", out)
        settings = {}
        for name in STAGE_OPTIONS:
            chosen = own.get(name) or defaults.get(name)
            if chosen is not None:
                sources[("stages", i, name)] = chosen.span
                settings[name] = _option_value(chosen, out)
        if "dim" in settings and settings["dim"] is None:  # written but invalid: already reported
            settings["dim"] = 1
        dim = _stage_dim(settings.get("dim"), dim, i, node, out)
        if "heads" not in settings and stages:  # the default: from the first stage's width
            settings["heads"] = default_heads(stages[0].dim)
        elif "heads" not in settings:
            settings["heads"] = default_heads(dim)
        sources[("stages", i)] = node.key_span
        _warn_unused(own, groups, out)
        stage = _stage(groups, dim, grid, settings, rates[used:used + sum(g.repeat for g in groups)])
        used += sum(g.repeat for g in groups)
        stages.append(stage)
    return stages


def _groups(node: StageNode, i: int, sources: SourceMap, out: _Collector) -> tuple[Group, ...]:
    groups = []
    for j, g in enumerate(node.groups):
        sources[("stages", i, "groups", j)] = g.span
        sources[("stages", i, "groups", j, "repeat")] = g.repeat.span
        if "heads" in KINDS[g.kind.text].options and ("stages", i, "groups") not in sources.spans:
            sources[("stages", i, "groups")] = g.span
        repeat = int(g.count_text) if len(g.count_text) <= 9 else MAX_BLOCKS + 1
        if repeat > MAX_BLOCKS:
            out.error("E306", f"repeat count x{g.count_text} is out of range (at most {MAX_BLOCKS:,})", g.repeat.span)
        groups.append(Group.model_construct(kind=g.kind.text, repeat=repeat))
    return tuple(groups)


def _stage_dim(given: int | None, previous: int | None, i: int, node: StageNode, out: _Collector) -> int:
    if given is not None:
        return given
    if i == 0:
        out.error("E406", "the first stage needs a `dim`", node.key_span, hint="add e.g. `dim 64` to the stage")
        return 1
    return 2 * previous


def _stage(groups: tuple[Group, ...], dim: int, grid: tuple[int, int], settings: dict, rates: list[float]) -> Stage:
    """Options from the stage, `defaults` or the table; an option that cannot act in this
    stage (options.py scope) is None, so that equal networks have equal IRs."""
    kinds = tuple(dict.fromkeys(g.kind for g in groups))
    value = {}
    for name, opt in STAGE_OPTIONS.items():
        chosen = settings.get(name, opt.default)
        value[name] = chosen if opt.applies(kinds) else None
    channel_ratio = value["channel_ratio"] or 0.0
    token_ratio = value["token_ratio"]
    return Stage.model_construct(
        groups=groups, dim=dim, grid=grid,
        heads=value["heads"],
        channel_ratio=channel_ratio,
        token_ratio=token_ratio,
        cpe=value["cpe"],
        layerscale=value["layerscale"],
        qkv_bias=value["qkv_bias"],
        shared=value["shared"],
        channel_hidden=int(dim * channel_ratio),
        token_hidden=int(grid[0] * grid[1] * token_ratio) if token_ratio is not None else None,
        blocks=expand_blocks(groups, rates),
    )


def _warn_unused(own: dict[str, Option], groups: tuple[Group, ...], out: _Collector) -> None:
    kinds = {g.kind for g in groups}
    for name, opt in own.items():
        if opt_def := STAGE_OPTIONS.get(name):
            if opt_def.applies(kinds):
                continue
            if opt_def.scope == "mixer":
                out.warning("W103", f"`{name}` has no effect in a stage of conv blocks only", opt.span)
            elif opt_def.scope == "kind":
                out.warning("W103", f"`{name}` has no effect in a stage without {' or '.join(opt_def.kinds)} blocks",
                            opt.span)
