"""The front end's public entry points: text or files in, a Spec (or diagnostics) out.

Nothing here imports torch, so `spachc check` and `spachc fmt` stay fast.
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, Source, Span, SpecError, did_you_mean, error_at
from .ir import Spec
from .overrides import apply_overrides, blame_overrides
from .parser import MAX_SPEC_BYTES, decode, parse_document
from .printer import format_document
from .resolve import Resolved, resolve
from .resources import zoo_dir, zoo_names
from .syntax import Document


def locate(path_or_name: str | Path) -> Path:
    """A spec file, or the bundled zoo spec of that name."""
    path = Path(path_or_name)
    if path.exists():
        return path
    zoo = zoo_dir() / f"{path_or_name}.spach"
    if isinstance(path_or_name, str) and "/" not in path_or_name and zoo.is_file():
        return zoo
    hint = did_you_mean(str(path_or_name), zoo_names()) or f"zoo specs: {', '.join(zoo_names())}"
    # No span: a file that is not there has no line 1 to point at.
    raise SpecError([error_at("E006", "no such spec file or zoo name", None, hint=hint,
                              path=str(path_or_name))])


def read_source(path_or_name: str | Path) -> Source:
    path = locate(path_or_name)
    if path.is_dir():
        raise SpecError([error_at("E004", "is a directory, not a spec file", None,
                                  hint="pass a .spach file", path=str(path))])
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:  # refuse before reading: a spec is never megabytes
            raise SpecError([error_at("E003", f"spec is {size:,} bytes; the limit is {MAX_SPEC_BYTES:,}",
                                      None, hint="is this really a .spach file?", path=str(path))])
        with path.open("rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError([error_at("E007", f"cannot read it: {exc.strerror}", None, path=str(path))]) from None
    return decode(data, str(path))


def document(text: str, source: str = "<string>", overrides=()) -> Document:
    doc = parse_document(Source(source, text))
    return apply_overrides(doc, overrides) if overrides else doc


def resolve_text(text: str, source: str = "<string>", overrides=()) -> Resolved:
    return resolve_with(parse_document(Source(source, text)), overrides)


def resolve_with(doc: Document, overrides=()) -> Resolved:
    """Resolve a document with `--set` overrides; what only they break is blamed on them."""
    if not overrides:
        return resolve(doc)
    changed = apply_overrides(doc, overrides)
    try:
        return resolve(changed)
    except SpecError as exc:
        raise SpecError(blame_overrides(doc, tuple(overrides), exc.diagnostics, resolve)) from None


def parse(text: str, source: str = "<string>", overrides=()) -> Spec:
    """Parse and validate spec text; raises SpecError with every diagnostic."""
    return resolve_text(text, source, overrides).spec


def load_resolved(path_or_name: str | Path, overrides=()) -> Resolved:
    return resolve_with(parse_document(read_source(path_or_name)), overrides)


def load(path_or_name: str | Path, overrides=()) -> Spec:
    """A spec file or a zoo name (`hybrid_s`) to a validated Spec."""
    return load_resolved(path_or_name, overrides).spec


def states(path_or_name: str | Path, keyword: str, overrides=()) -> bool:
    """Whether the spec (with its --set overrides) writes `keyword` itself rather than
    leaving it to its default: `train` fits an unwritten `classes` to the data."""
    doc = parse_document(read_source(path_or_name))
    return doc.statement(keyword) is not None or any(o.split("=")[0].strip() == keyword for o in overrides)


EXPR_SOURCE = "<-e>"  # the name diagnostics give a spec passed as text on the command line


def check(path_or_name: str | Path) -> list[Diagnostic]:
    """Every diagnostic (errors and warnings) for one spec file."""
    return check_with_census(path_or_name)[0]


def check_with_census(path_or_name: str | Path):
    """Diagnostics, and for a design space its census (space.Census; None for a plain spec)."""
    try:
        return _check_document(parse_document(read_source(path_or_name)))
    except SpecError as exc:
        return list(exc.diagnostics), None


def check_text_with_census(text: str, source: str = EXPR_SOURCE):
    """`check_with_census` of spec text (`spachc check -e TEXT`)."""
    try:
        return _check_document(parse_document(Source(source, text)))
    except SpecError as exc:
        return list(exc.diagnostics), None


def _check_document(doc: Document):
    from .space import check_space, is_space

    if is_space(doc):
        census, diagnostics = check_space(doc)
        return sorted(diagnostics, key=lambda d: (d.line, d.column)), census
    return list(resolve(doc).warnings), None


def load_space(path_or_name: str | Path) -> Document:
    """A design space (or a plain spec: a space of one) as a parsed Document."""
    return parse_document(read_source(path_or_name))


def check_text(text: str, source: str = EXPR_SOURCE) -> list[Diagnostic]:
    """Every diagnostic for spec text (`spachc check -e TEXT`)."""
    return check_text_with_census(text, source)[0]


def fmt_text(text: str, source: str = "<string>") -> str:
    from .choices import dimensions, is_space

    doc = parse_document(Source(source, text))
    if is_space(doc):  # the canonical form covers networks; a space is kept as its author wrote it
        dims = dimensions(doc)
        span = dims[0].items[0].span if dims and dims[0].items else Span.at_offset(doc.source, 0)
        raise SpecError([error_at("E169", "fmt does not rewrite design spaces (files with choices); "
                                  "this one is left as written", span,
                                  hint="`spachc check` validates it; the specs `spachc sweep sample` writes "
                                  "are in canonical form")])
    return format_document(doc)
