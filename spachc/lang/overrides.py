"""`--set KEY=VALUE`: one place that defines what can be overridden and how.

The keys are the rows of the options table (options.py) marked settable. An override
replaces a top-level statement (`input=32`, `classes=10`,
`stem=conv4 patch 4`) or sets a stage option for every stage (`heads=2`,
`channel_ratio=3`, `cpe=off`); `dim=N` sets the first stage's width. The value is
parsed with the spec grammar, so it is checked exactly like text in a file.
"""

from __future__ import annotations

from dataclasses import replace

from .diagnostics import Source, Span, SpecError, did_you_mean, error_at
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
    source = Source(f"--set {item}", item)
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or key not in KEYS:
        hint = did_you_mean(key, KEYS) or "valid keys: " + ", ".join(KEYS)
        if not sep and key in KEYS:
            hint = f"write {key}=VALUE"
        message = "expected KEY=VALUE" if not sep else f"unknown --set key '{key}'"
        raise SpecError([error_at("E601", message, Span.at_offset(source, 0, len(key)), hint=hint)])
    text = f"{key} {value.strip()}"
    parsed = parse_override(Source(f"--set {item}", text))
    if isinstance(parsed, Statement):
        kept = tuple(s for s in doc.statements if s.keyword != parsed.keyword)
        return replace(doc, statements=kept + (parsed,))
    return _set_option(doc, parsed)


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
