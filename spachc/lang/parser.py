"""Text to `syntax.Document`, with syntax errors as diagnostics users can act on.

Lark parses with the grammar in grammar/spach.lark; `_ToSyntax`, a Lark `Transformer` with one
method per named grammar rule, turns the tree into syntax nodes that keep every span. A
post-lexer reads registered block kinds (kinds.py) as KIND tokens, so the grammar lists none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

import lark
from lark import Token, Transformer, v_args

from ..diagnostics import Diagnostic, Source, Span, SpecError, did_you_mean, error_at
from .kinds import KINDS, describe_kinds
from .options import OPTION_ORDER, STATEMENT_ORDER
from .resources import grammar_text
from .syntax import Bound, Choice, Comment, Document, Group, NamedChoice, Option, Stage, Statement, Value

MAX_SPEC_BYTES = 1_000_000

_WORDS = {
    "NUMBER": "a number",
    "SIZE": "a size such as 224 or 224x192",
    "REPEAT": "a repeat count such as x3",
    "NAME": "a name",
    "$END": "the end of the file",
    "COMMA": "','",
    "RANGE": "a range such as 2..6 or 0.5G..1G",
    "COMPARE": "a comparison (<=, <, >=, >)",
    "QUANTITY": "a quantity such as 10M",
    "CHOICE_REF": "a named choice such as $depth",
    "REPEAT_OPEN": "a choice of repeat count such as x{2..6}",
    "REPEAT_REF": "a named repeat count such as x$depth",
    "LBRACE": "a choice such as {64 | 96}",
}


@cache
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        postlex=_KindWords(),
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
    if len(source.text) > MAX_SPEC_BYTES:  # also for text that did not come through `decode` (headers)
        raise SpecError([error_at("E003", f"spec is {len(source.text):,} characters; the limit is "
                                  f"{MAX_SPEC_BYTES:,} bytes", Span.at_offset(Source(source.name, ""), 0),
                                  hint="is this really a .spach file?")])
    comments = _scan_comments(source)
    if not source.text.strip() or not _has_code(source, comments):
        raise SpecError([error_at("E002", "the spec is empty", Span.at_offset(source, 0),
                                  hint="a spec needs at least `input`, `stem` and a pipeline")])
    try:
        tree = _lark().parse(source.text, start="start")
    except lark.exceptions.UnexpectedInput as exc:
        first = _syntax_diagnostic(source, exc)
        raise SpecError([first, *_later_syntax_errors(source, first)]) from None
    parts = _transform(source, tree)
    doc = Document(source, tuple(parts["statements"]), tuple(parts["pipelines"]), tuple(comments),
                   named=tuple(parts["named"]), bounds=tuple(parts["bounds"]),
                   alternatives=parts["alternatives"][0] if parts["alternatives"] else (),
                   alternatives_span=parts["alternatives"][1] if parts["alternatives"] else None)
    if parts["extra_alternatives"]:
        from ..diagnostics import Note

        first, second = parts["alternatives"][1], parts["extra_alternatives"][0]
        raise SpecError([error_at("E106", "a spec has exactly one pipeline, but a second choice of pipelines "
                                  "starts here", second, notes=(Note("the first starts here", first),),
                                  hint="list every alternative inside one `{ ... | ... }`")])
    from .choices import label_choices

    return label_choices(doc)


def _transform(source: Source, tree):
    """The tree to syntax nodes; a value the transformer refuses (a `where` bound that is not
    finite) is raised as its SpecError, not as Lark's wrapper around it."""
    try:
        return _ToSyntax(source).transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, SpecError):
            raise exc.orig_exc from None
        raise


def _has_code(source: Source, comments: list[Comment]) -> bool:
    """Whether anything but comments and blanks is written (one pass: linear in the text)."""
    return bool(_COMMENT.sub("", source.text).strip()) if comments else bool(source.text.strip())


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
    return _transform(source, tree)


_COMMENT = re.compile(r"#[^\n]*")


def _scan_comments(source: Source) -> list[Comment]:
    """The language has no strings, so every '#' starts a comment that runs to the line's end.
    Lines are counted as the scan goes (not from the start of the file for each comment), so
    a file of many comments is read in linear time."""
    text, comments = source.text, []
    line, counted_to = 1, 0
    for m in _COMMENT.finditer(text):
        line += text.count("\n", counted_to, m.start())
        counted_to = m.start()
        line_start = text.rfind("\n", 0, m.start()) + 1  # stops at the nearest newline: this line only
        span = Span(source, line, m.start() - line_start + 1, line, m.end() - line_start + 1, m.start(), m.end())
        comments.append(Comment(m.group().rstrip(), span))
    return comments


# --- parse tree to Document -------------------------------------------------------------

class _KindWords:
    """Post-lexer: a NAME that names a registered block kind becomes a KIND token, so the
    grammar never lists kinds (adding one is a registry entry, kinds.py)."""

    always_accept = ("NAME",)

    def process(self, stream):
        for token in stream:
            if token.type == "NAME" and token.value in KINDS:
                token = Token.new_borrow_pos("KIND", token.value, token)
            yield token


def _token_span(source: Source, token: Token) -> Span:
    return Span(source, token.line, token.column, token.end_line, token.end_column,
                token.start_pos, token.end_pos)


def _meta_span(source: Source, meta) -> Span:
    return Span(source, meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)


def _join(a: Span, b: Span) -> Span:
    return Span(a.source, a.line, a.column, b.end_line, b.end_column, a.start_pos, b.end_pos)


@dataclass(frozen=True)
class _Down:
    span: Span  # `-> down ->`
    keyword: Span  # `down`


@v_args(meta=True)
class _ToSyntax(Transformer):
    """The parse tree to `syntax` nodes, one method per named grammar rule (spach.lark),
    bottom-up: each method receives its children already transformed."""

    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _span(self, meta) -> Span:
        return _meta_span(self.source, meta)

    def _value(self, token) -> Value | Choice:
        if isinstance(token, Choice):
            return token
        return Value(str(token), _token_span(self.source, token))

    def _arg(self, name: str, key: Token, value: Value) -> Option:
        """`key value` inside a statement, e.g. `patch 4`: spans from the key to the value."""
        key_span = _token_span(self.source, key)
        return Option(name, value, _join(key_span, value.span), key_span)

    def _positional(self, name: str, value: Value) -> Option:
        return Option(name, value, value.span, value.span)

    def _statement(self, meta, key: Token, args) -> Statement:
        return Statement(str(key), tuple(args), self._span(meta), _token_span(self.source, key))

    # single-keyword rules: their one token as a Value
    def kind(self, meta, children) -> Value | Choice:
        return self._value(children[0])

    stem_kind = switch = schedule = model_name = alternative = kind

    def group(self, meta, children) -> Group:
        kind, repeat = children
        return Group(kind, self._value(repeat), self._span(meta))

    def option(self, meta, children) -> Option:
        key, *value = children
        value = value[0] if value else None
        if isinstance(value, Token):
            value = self._value(value)
        return Option(str(key), value, self._span(meta), _token_span(self.source, key))

    # -- design spaces (space.py gives the choices their labels and checks them) --

    def _choice(self, meta, children, repeat: bool) -> Choice:
        span = self._span(meta)
        text = self.source.text[span.start_pos:span.end_pos]
        if len(children) == 1 and isinstance(children[0], Token) and children[0].type in ("CHOICE_REF", "REPEAT_REF"):
            name = str(children[0]).split("$", 1)[1]
            return Choice((), span, text, label=name, ref=name, repeat=repeat)
        items = tuple(c for c in children if isinstance(c, Value))
        return Choice(items, span, text, repeat=repeat)

    def choice(self, meta, children) -> Choice:
        return self._choice(meta, children, repeat=False)

    def repeat_choice(self, meta, children) -> Choice:
        return self._choice(meta, children, repeat=True)

    def choose_stmt(self, meta, children) -> NamedChoice:
        key, name, *rest = children
        items = tuple(c for c in rest if isinstance(c, Value))
        first, last = items[0].span, items[-1].span
        body = Span(self.source, first.line, first.column, last.end_line, last.end_column, first.start_pos,
                    last.end_pos)
        brace = self.source.text.rfind("{", 0, first.start_pos)
        close = self.source.text.find("}", last.end_pos)
        text = self.source.text[brace:close + 1] if brace >= 0 and close >= 0 else "{...}"
        choice = Choice(items, body, text, label=str(name))
        return NamedChoice(str(name), choice, self._span(meta), _token_span(self.source, name))

    def bound(self, meta, children) -> Bound:
        from .choices import parse_bound

        metric, *rest = children
        return parse_bound(str(metric), [str(t) for t in rest], self._span(meta), _token_span(self.source, metric))

    def where_stmt(self, meta, children) -> tuple[Bound, ...]:
        return tuple(c for c in children if isinstance(c, Bound))

    def pipelines(self, meta, children) -> "_Alternatives":
        return _Alternatives(tuple(c for c in children if isinstance(c, tuple)), self._span(meta))

    def down(self, meta, children) -> _Down:
        return _Down(self._span(meta), _token_span(self.source, children[1]))

    def stage(self, meta, children) -> Stage:
        key, *rest = children
        groups = tuple(c for c in rest if isinstance(c, Group))
        options = tuple(c for c in rest if isinstance(c, Option))
        return Stage(groups, options, self._span(meta), _token_span(self.source, key))

    def pipeline(self, meta, children) -> tuple[Stage, ...]:
        stages, down = [], None
        for child in children:
            if isinstance(child, _Down):
                down = child
                continue
            if down is not None:
                child = replace(child, down=down.keyword, line_span=_join(down.span, child.span))
            stages.append(child)
            down = None
        return tuple(stages)

    def model_stmt(self, meta, children) -> Statement:
        key, name = children
        return self._statement(meta, key, [self._positional("name", name)])

    def input_stmt(self, meta, children) -> Statement:
        key, size, *channels = children
        args = [self._positional("size", self._value(size))]
        if channels:
            args.append(self._arg("channels", channels[0], self._value(channels[1])))
        return self._statement(meta, key, args)

    def classes_stmt(self, meta, children) -> Statement:
        key, count = children
        return self._statement(meta, key, [self._positional("count", self._value(count))])

    def stem_stmt(self, meta, children) -> Statement:
        key, *rest = children
        args = []
        if rest and isinstance(rest[0], Value):
            args.append(self._positional("kind", rest.pop(0)))
        for word, number in zip(rest[::2], rest[1::2]):  # `patch P`, `hidden H`
            args.append(self._arg(str(word), word, self._value(number)))
        return self._statement(meta, key, args)

    def defaults_stmt(self, meta, children) -> Statement:
        key, *options = children
        return self._statement(meta, key, options)

    def drop_path_stmt(self, meta, children) -> Statement:
        key, rate, *schedule = children
        args = [self._positional("rate", self._value(rate))]
        if schedule:
            args.append(self._positional("schedule", schedule[0]))
        return self._statement(meta, key, args)

    def start(self, meta, children) -> dict:
        alternatives = [c for c in children if isinstance(c, _Alternatives)]
        return {
            "statements": [c for c in children if isinstance(c, Statement)],
            "pipelines": [c for c in children if isinstance(c, tuple) and (not c or isinstance(c[0], Stage))],
            "named": [c for c in children if isinstance(c, NamedChoice)],
            "bounds": [b for c in children if isinstance(c, tuple) and c and isinstance(c[0], Bound) for b in c],
            "alternatives": (alternatives[0].pipelines, alternatives[0].span) if alternatives else None,
            "extra_alternatives": [a.span for a in alternatives[1:]],
        }


@dataclass(frozen=True)
class _Alternatives:
    pipelines: tuple[tuple[Stage, ...], ...]
    span: Span


# --- syntax errors ----------------------------------------------------------------------

# After the first syntax error, the statements that start on later lines are parsed each on
# its own, so that one run reports a mistake in each (a user with three typos fixes them in
# one round). A statement starts on a line, outside braces, with one of these words.
_STATEMENT_START = re.compile(r"[ \t]*(model|input|classes|stem|defaults|drop_path|choose|where|stage|\{)(?![\w.+-])")
MAX_SYNTAX_ERRORS = 20
_RECOVERY_BYTES = 200_000  # beyond this, only the first error (each statement is parsed separately)
_RECOVERY_STATEMENTS = 200  # statements looked at after the first error: the work stays linear


def _statements_after(text: str, offset: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the top-level statements that start on a line after `offset`'s."""
    starts, depth, pos = [], 0, 0
    for line in text.splitlines(keepends=True):
        code = line.split("#", 1)[0]
        if depth == 0 and _STATEMENT_START.match(code):
            starts.append(pos)
        depth = max(0, depth + code.count("{") - code.count("}"))
        pos += len(line)
    first_line_end = text.find("\n", offset)
    later = [p for p in starts if first_line_end != -1 and p > first_line_end]
    return [(p, next((q for q in starts if q > p), len(text))) for p in later]


def _later_syntax_errors(source: Source, first: Diagnostic) -> list[Diagnostic]:
    """The first syntax error of each statement after the one that failed first, found by
    parsing each alone (the rest of the file blanked, so lines and columns stay). A statement
    that ends early (before the next one starts) is only reported at the end of the file."""
    text = source.text
    if len(text) > _RECOVERY_BYTES or first.span is None:
        return []
    found: list[Diagnostic] = []
    statements = _statements_after(text, first.span.start_pos)[:_RECOVERY_STATEMENTS]
    for k, (start, end) in enumerate(statements):
        alone = re.sub(r"[^\n]", " ", text[:start]) + text[start:end] + re.sub(r"[^\n]", " ", text[end:])
        try:
            _lark().parse(alone, start="start")
        except lark.exceptions.UnexpectedInput as exc:
            ends_early = isinstance(exc, lark.exceptions.UnexpectedToken) and exc.token.type == "$END"
            if ends_early and k < len(statements) - 1:
                continue
            found.append(_syntax_diagnostic(source, exc))
            if len(found) >= MAX_SYNTAX_ERRORS - 1:
                break
    return found

# Where a value may be a choice, the parser also expects `{`, `$name`, `x{` or `x$name`; a
# message about a plain spec names only the plain forms (unless nothing else would fit).
_SPACE_TERMINALS = {"LBRACE", "CHOICE_REF", "REPEAT_OPEN", "REPEAT_REF"}


def _describe_expected(expected: set[str]) -> str:
    if expected - _SPACE_TERMINALS:
        expected = expected - _SPACE_TERMINALS
    keywords = _keyword_of_terminal()
    words = {keywords.get(t, t) for t in expected}
    parts: list[str] = []
    kinds = list(KINDS) if "KIND" in expected else []
    if kinds:
        parts.append("a block kind: " + describe_kinds())
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
    if expected - _SPACE_TERMINALS:
        expected -= _SPACE_TERMINALS
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
    if token.type == "NAME" and "KIND" in expected:
        return error_at("E103", f"unknown block kind '{word}'", span,
                        hint=did_you_mean(word, KINDS) or "expected a block kind: " + describe_kinds())
    if token.type == "NAME" and expected_words:
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
