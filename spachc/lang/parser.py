"""Text to `syntax.Document`, with syntax errors as diagnostics users can act on."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

import lark
from lark import Token, Tree

from .diagnostics import Diagnostic, Source, Span, SpecError, did_you_mean, error_at
from .resources import grammar_text
from .syntax import BLOCK_KINDS, OPTION_ORDER, STATEMENT_ORDER, Comment, Document, Group, Option, Stage, Statement, Value

MAX_SPEC_BYTES = 1_000_000

_WORDS = {
    "NUMBER": "a number",
    "SIZE": "a size such as 224 or 224x192",
    "REPEAT": "a repeat count such as x3",
    "NAME": "a name",
    "$END": "the end of the file",
    "COMMA": "','",
}


@cache
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        start=["start", "override"],
    )


@cache
def _keyword_of_terminal() -> dict[str, str]:
    """Terminal name -> the literal keyword it stands for (`DIM` -> `dim`)."""
    out = {}
    for term in _lark().terminals:
        if isinstance(term.pattern, lark.lexer.PatternStr):
            out[term.name] = term.pattern.value
    return out


def decode(data: bytes, name: str) -> Source:
    """Bytes to a Source, refusing what cannot be a spec with one clear diagnostic."""
    empty = Source(name, "")
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError([error_at("E003", f"spec is {len(data):,} bytes; the limit is {MAX_SPEC_BYTES:,}",
                                  Span.at_offset(empty, 0), hint="is this really a .spach file?")])
    if b"\x00" in data:
        raise SpecError([error_at("E005", "this is a binary file, not a .spach spec (it contains NUL bytes)",
                                  Span.at_offset(empty, 0))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        source = Source(name, prefix)
        raise SpecError([error_at("E001", f"the spec is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                  Span.at_offset(source, len(prefix)), hint="save the file as UTF-8")]) from None
    return Source(name, text.removeprefix("\ufeff"))


def parse_document(source: Source) -> Document:
    comments = _scan_comments(source)
    if not source.text.strip() or not _has_code(source, comments):
        raise SpecError([error_at("E002", "the spec is empty", Span.at_offset(source, 0),
                                  hint="a spec needs at least `input`, `stem` and a pipeline")])
    try:
        tree = _lark().parse(source.text, start="start")
    except lark.exceptions.UnexpectedInput as exc:
        raise SpecError([_syntax_diagnostic(source, exc)]) from None
    return _build_document(source, tree, tuple(comments))


def _has_code(source: Source, comments: list[Comment]) -> bool:
    text = source.text
    for c in reversed(comments):
        text = text[: c.span.start_pos] + text[c.span.end_pos:]
    return bool(text.strip())


def parse_override(source: Source) -> Statement | Option:
    """One statement or option, as given to `--set KEY=VALUE`."""
    try:
        tree = _lark().parse(source.text, start="override")
    except lark.exceptions.UnexpectedInput as exc:
        d = _syntax_diagnostic(source, exc)
        if isinstance(exc, lark.exceptions.UnexpectedToken) and "$END" in exc.expected and d.code == "E101":
            d = replace(d, message=f"expected the end of the value, found '{exc.token}'", hint="one --set sets one thing: "
                        "write each override as its own --set KEY=VALUE")
        raise SpecError([d]) from None
    if tree.data == "option":
        return _option(source, tree)
    return _statement(source, tree)


_COMMENT = re.compile(r"#[^\n]*")


def _scan_comments(source: Source) -> list[Comment]:
    """The language has no strings, so every '#' starts a comment that runs to the line's end."""
    return [Comment(m.group().rstrip(), Span.at_offset(source, m.start(), m.end()))
            for m in _COMMENT.finditer(source.text)]


# --- parse tree to Document -------------------------------------------------------------

def _token_span(source: Source, token: Token) -> Span:
    return Span(source, token.line, token.column, token.end_line, token.end_column,
                token.start_pos, token.end_pos)


def _tree_span(source: Source, tree: Tree) -> Span:
    m = tree.meta
    return Span(source, m.line, m.column, m.end_line, m.end_column, m.start_pos, m.end_pos)


def _value(source: Source, node: Token | Tree) -> Value:
    if isinstance(node, Tree):  # kind, stem_kind, switch: one keyword token inside
        node = node.children[0]
    return Value(str(node), _token_span(source, node))


def _option(source: Source, tree: Tree) -> Option:
    key, *rest = tree.children
    value = _value(source, rest[0]) if rest else None
    return Option(str(key), value, _tree_span(source, tree), _token_span(source, key))


def _statement(source: Source, tree: Tree) -> Statement:
    key = tree.children[0]
    keyword = str(key)
    parts = tree.children[1:]
    args: list[Option] = []
    if keyword == "defaults":
        args = [_option(source, p) for p in parts]
    elif keyword == "stem":
        pending = None
        for part in parts:
            if isinstance(part, Tree):  # stem_kind
                v = _value(source, part)
                args.append(Option("kind", v, v.span, v.span))
            elif part.type in ("PATCH", "HIDDEN"):
                pending = part
            else:
                v = _value(source, part)
                args.append(Option(str(pending), v, _join(_token_span(source, pending), v.span),
                                   _token_span(source, pending)))
    elif keyword == "input":
        v = _value(source, parts[0])
        args.append(Option("size", v, v.span, v.span))
        if len(parts) == 3:
            c = _value(source, parts[2])
            args.append(Option("channels", c, _join(_token_span(source, parts[1]), c.span),
                               _token_span(source, parts[1])))
    else:
        role = {"model": "name", "classes": "count", "drop_path": "rate"}[keyword]
        v = _value(source, parts[0])
        args.append(Option(role, v, v.span, v.span))
    return Statement(keyword, tuple(args), _tree_span(source, tree), _token_span(source, key))


def _join(a: Span, b: Span) -> Span:
    return Span(a.source, a.line, a.column, b.end_line, b.end_column, a.start_pos, b.end_pos)


def _stage(source: Source, tree: Tree, down: Tree | None) -> Stage:
    key = tree.children[0]
    groups, options = [], []
    for child in tree.children[1:]:
        if isinstance(child, Tree) and child.data == "group":
            kind, repeat = child.children
            groups.append(Group(_value(source, kind), _value(source, repeat), _tree_span(source, child)))
        elif isinstance(child, Tree) and child.data == "option":
            options.append(_option(source, child))
    span = _tree_span(source, tree)
    down_span = _token_span(source, down.children[1]) if down is not None else None
    line_span = _join(_tree_span(source, down), span) if down is not None else span
    return Stage(tuple(groups), tuple(options), span, _token_span(source, key), down_span, line_span)


def _pipeline(source: Source, tree: Tree) -> tuple[Stage, ...]:
    stages, down = [], None
    for child in tree.children:
        if child.data == "down":
            down = child
        else:
            stages.append(_stage(source, child, down))
            down = None
    return tuple(stages)


def _build_document(source: Source, tree: Tree, comments: tuple[Comment, ...]) -> Document:
    statements, pipelines = [], []
    for child in tree.children:
        if child.data == "pipeline":
            pipelines.append(_pipeline(source, child))
        else:
            statements.append(_statement(source, child))
    return Document(source, tuple(statements), tuple(pipelines), comments)


# --- syntax errors ----------------------------------------------------------------------

def _describe_expected(expected: set[str]) -> str:
    keywords = _keyword_of_terminal()
    words = {keywords.get(t, t) for t in expected}
    parts: list[str] = []
    kinds = [k for k in BLOCK_KINDS if k in words]
    if kinds:
        parts.append("a block kind: " + _or(kinds))
    statements = [s for s in STATEMENT_ORDER if s in words]
    options = [o for o in OPTION_ORDER if o in words]
    if options and len(options) > 2:
        parts.append("a stage option (" + ", ".join(options) + ")")
    else:
        parts += [f"'{o}'" for o in options]
    if "stage" in words:
        statements.append("stage")
    if statements and len(statements) > 2:
        parts.append("a statement (" + ", ".join(statements) + ")")
    else:
        parts += [f"'{s}'" for s in statements]
    known = set(kinds) | set(statements) | set(options)
    for term in sorted(expected):
        word = keywords.get(term)
        if word is not None and word not in known:
            parts.append(f"'{word}'")
        elif word is None and term in _WORDS and term != "$END":
            parts.append(_WORDS[term])
    if "$END" in expected:
        parts.append(_WORDS["$END"])
    return _or(parts) if parts else "something else"


def _or(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _word_at(text: str, pos: int) -> str:
    end = pos
    while end < len(text) and not text[end].isspace() and text[end] not in ",#":
        end += 1
    return text[pos:end]


def _syntax_diagnostic(source: Source, exc: lark.exceptions.UnexpectedInput) -> Diagnostic:
    keywords = _keyword_of_terminal()
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        pos = exc.pos_in_stream
        char = source.text[pos]
        shown = char if char.isprintable() else repr(char)[1:-1]
        span = Span.at_offset(source, pos, pos + 1)
        return error_at("E100", f"unexpected character '{shown}'", span,
                        hint=f"expected {_describe_expected(set(exc.allowed))}")
    assert isinstance(exc, lark.exceptions.UnexpectedToken)
    token, expected = exc.token, set(exc.expected)
    if token.type == "$END":
        span = Span.at_offset(source, len(source.text.rstrip()))
        return error_at("E105", f"unexpected end of file: expected {_describe_expected(expected)}", span)
    span = _token_span(source, token)
    word = str(token)
    if token.type == "NAME" and word == "x" and "REPEAT" in expected:
        count = re.match(r"\s*(\w+)", source.text[span.end_pos:])
        n = count.group(1) if count else "3"
        return error_at("E104", "a repeat count is written with no space after 'x'", span,
                        hint=f"write it as x{n}, not x {n}")
    expected_words = [keywords[t] for t in expected if t in keywords]
    if token.type == "NAME" and expected_words:
        if {"conv", "trans", "mlp"} & set(expected_words):
            return error_at("E103", f"unknown block kind '{word}'", span,
                            hint=did_you_mean(word, BLOCK_KINDS) or "expected a block kind: conv, trans or mlp")
        hint = did_you_mean(word, expected_words) or f"expected {_describe_expected(expected)}"
        return error_at("E102", f"unknown keyword '{word}'", span, hint=hint)
    found = f"'{word}'" if word else token.type
    return error_at("E101", f"expected {_describe_expected(expected)}, found {found}", span,
                    hint=_syntax_hint(token, expected))


def _syntax_hint(token: Token, expected: set[str]) -> str | None:
    keywords = _keyword_of_terminal()
    if "DOWN" in expected and token.type == "STAGE":
        return "stages are joined with '-> down ->'"
    if token.type in keywords and "NAME" in expected:
        return f"'{token}' is a keyword and cannot be used as a name"
    return None
