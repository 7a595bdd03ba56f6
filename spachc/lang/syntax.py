"""The spec as written: statements, stages and comments with their source spans.

This is the layer between Lark's parse tree and the IR. It keeps what the user wrote
(including where defaults came from and every comment) so that the resolver can point
at the exact text behind a problem and `fmt` can print the file back faithfully.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Source, Span


@dataclass(frozen=True)
class Value:
    text: str
    span: Span


@dataclass(frozen=True)
class Choice:
    """Where a design space varies (`{64 | 96}`, `{2..6}`, `x{2..6}`, `$name`): the
    alternatives, each a Value with its own span, so that a sample's diagnostics point at
    the alternative it took. `label` names the choice in studies and reports: the name of
    a `choose` statement, or the place (`stage2.kind`, `stage1.dim`) for an inline one."""

    items: tuple[Value, ...]
    span: Span
    text: str  # as written, for fmt and messages
    label: str = ""
    ref: str | None = None  # `$name`: the named choice it stands for (items filled in by space.py)
    repeat: bool = False  # `x{...}`: item texts are counts, the value is written `x<count>`


@dataclass(frozen=True)
class Bound:
    """One bound of `where`: `macs 0.5G..1G` or `params <= 10M` (inclusive ends)."""

    metric: str
    low: float | None
    high: float | None
    span: Span
    metric_span: Span
    text: str


@dataclass(frozen=True)
class NamedChoice:
    """`choose NAME {a | b}`: one choice that every `$NAME` takes together."""

    name: str
    choice: Choice
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Option:
    """`name value` (or a bare flag such as `shared`, whose value is None)."""

    name: str
    value: Value | Choice | None
    span: Span
    key_span: Span


@dataclass(frozen=True)
class Statement:
    """A top-level statement. `args` holds its parts as options: input's `size` and
    `channels`, stem's `kind`, `patch` and `hidden`, model's `name`, classes' `count`,
    drop_path's `rate` and `schedule`, and the options of `defaults`."""

    keyword: str
    args: tuple[Option, ...]
    span: Span
    key_span: Span

    def arg(self, name: str) -> Option | None:
        return next((a for a in self.args if a.name == name), None)


@dataclass(frozen=True)
class Group:
    kind: Value | Choice
    repeat: Value | Choice
    span: Span

    @property
    def count_text(self) -> str:
        return self.repeat.text[1:]


@dataclass(frozen=True)
class Stage:
    groups: tuple[Group, ...]
    options: tuple[Option, ...]
    span: Span  # from `stage` to the end of its options
    key_span: Span
    down: Span | None = None  # the `down` keyword before this stage
    line_span: Span | None = None  # from the first `->` (or `stage`) to the end

    @property
    def unit_span(self) -> Span:
        return self.line_span or self.span


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True)
class Document:
    source: Source
    statements: tuple[Statement, ...]
    pipelines: tuple[tuple[Stage, ...], ...]
    comments: tuple[Comment, ...] = ()
    # Design spaces (spachc/lang/space.py); all empty in a plain spec.
    named: tuple[NamedChoice, ...] = ()
    bounds: tuple[Bound, ...] = ()
    alternatives: tuple[tuple[Stage, ...], ...] = ()  # `{ PIPELINE | PIPELINE }`
    alternatives_span: Span | None = None

    def statement(self, keyword: str) -> Statement | None:
        return next((s for s in self.statements if s.keyword == keyword), None)

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self.pipelines[0] if self.pipelines else ()
