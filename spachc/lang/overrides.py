"""`--set KEY=VALUE`: one place that defines what can be overridden and how.

The keys are the rows of the options table (options.py) marked settable. An override
replaces a top-level statement (`input=32`, `classes=10`,
`stem=conv4 patch 4`) or sets a stage option for every stage (`heads=2`,
`channel_ratio=3`, `cpe=off`); `dim=N` sets the first stage's width. The value is
parsed with the spec grammar, so it is checked exactly like text in a file.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, Note, Source, Span, SpecError, did_you_mean, error_at
from .options import SET_KEYS as KEYS
from .parser import parse_override
from .syntax import Document, Option, Statement

HELP = (
    "override a statement or stage option, e.g. --set classes=10 --set input=32 --set heads=2; "
    "keys: " + ", ".join(KEYS)
)


def apply_overrides(doc: Document, overrides: list[str] | tuple[str, ...]) -> Document:
    for item in overrides:
        doc = _apply_one(doc, item)
    return doc


def _apply_one(doc: Document, item: str) -> Document:
    source = argument_source(item)
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or key not in KEYS:
        hint = did_you_mean(key, KEYS) or "valid keys: " + ", ".join(KEYS)
        if not sep and key in KEYS:
            hint = f"write {key}=VALUE"
        message = "expected KEY=VALUE" if not sep else f"unknown --set key '{key}'"
        raise SpecError([error_at("E601", message, Span.at_offset(source, 0, len(key)), hint=hint)])
    # The parsed text is the argument with its '=' made a space, so spans point into it as typed.
    parsed = parse_override(argument_source(item))
    if isinstance(parsed, Statement):
        kept = tuple(s for s in doc.statements if s.keyword != parsed.keyword)
        return replace(doc, statements=kept + (parsed,))
    return _set_option(doc, parsed)


def argument_source(item: str) -> Source:
    """`--set KEY=VALUE` as a source: named by the argument, parsed as `KEY VALUE`."""
    key, sep, value = item.partition("=")
    return Source(f"--set {item}", f"{key} {value}" if sep else item, argument=True)


def argument_span(item: str) -> Span:
    return Span.at_offset(argument_source(item), 0, len(item))


def blame_overrides(doc: Document, overrides, diagnostics, resolve) -> list[Diagnostic]:
    """Errors that only the overrides cause are reported at the `--set` that causes them,
    once, with the place in the spec as a note (the text there is fine on its own)."""
    def keys(items) -> set:
        try:
            resolve(apply_overrides(doc, items))
            return set()
        except SpecError as exc:
            return {_key(d) for d in exc.diagnostics}

    base = keys(())
    alone: dict[str, set] = {}
    out: list[Diagnostic] = []
    seen: set = set()
    for d in diagnostics:
        if d.span is not None and not d.span.source.argument and _key(d) not in base:
            for item in overrides:
                if item not in alone:
                    alone[item] = keys((item,))
            culprit = next((o for o in overrides if _key(d) in alone[o]), overrides[-1])
            note = Note(f"reported at the spec's `{d.span.source.line_text(d.span.line).strip()}`, "
                        f"which is valid without --set {culprit}", d.span)
            d = Diagnostic(d.code, d.message, argument_span(culprit), d.severity, d.hint, d.notes + (note,))
        shown = (d.code, d.message, d.span.where() if d.span else None)
        if shown not in seen:
            seen.add(shown)
            out.append(d)
    return out


def _key(d: Diagnostic) -> tuple:
    return (d.code, d.span.where() if d.span else None)


def _set_option(doc: Document, option: Option) -> Document:
    stages = doc.stages
    if option.name == "dim":
        if not stages:
            return doc
        first = stages[0]
        stages = (replace(first, options=_without(first.options, "dim") + (option,)),) + stages[1:]
        return replace(doc, pipelines=(stages,) + doc.pipelines[1:])
    stages = tuple(replace(s, options=_without(s.options, option.name)) for s in stages)
    statements = list(doc.statements)
    defaults = next((s for s in statements if s.keyword == "defaults"), None)
    if defaults is None:
        statements.append(Statement("defaults", (option,), option.span, option.key_span))
    else:
        statements[statements.index(defaults)] = replace(defaults, args=_without(defaults.args, option.name) + (option,))
    pipelines = ((stages,) + doc.pipelines[1:]) if doc.pipelines else ()
    return replace(doc, statements=tuple(statements), pipelines=pipelines)


def _without(options: tuple[Option, ...], name: str) -> tuple[Option, ...]:
    return tuple(o for o in options if o.name != name)
