"""Fuzzing the front end: input generators and the oracle every input must satisfy.

The oracle: `check`, `fmt` and `build` either succeed or raise SpecError whose
diagnostics all point inside the file; anything else (another exception) is a bug.
When they succeed, formatting must not change the meaning, and the compiled module
must have exactly the counted parameters. Used by tests/e2e/test_fuzz.py (bounded) and
benchmarks/fuzz.py (long runs).
"""

from __future__ import annotations

import random

from spachc.diagnostics import Diagnostic, SpecError
from spachc.lang.limits import check_params
from spachc.lang.parser import decode, parse_document
from spachc.lang.printer import format_document
from spachc.lang.resolve import resolve
from spachc.lang.resources import zoo_dir
from spachc.lang.summary import summary

KEYWORDS = ["model", "input", "channels", "classes", "stem", "conv1", "conv4", "patch", "hidden", "defaults",
            "drop_path", "stage", "down", "->", ",", "conv", "trans", "mlp", "dim", "heads", "channel_ratio",
            "token_ratio", "cpe", "layerscale", "qkv_bias", "shared", "on", "off", "pool", "shift", "smlp", "sepconv",
            "linear", "constant"]
ODD_VALUES = ["0", "-1", "1.5", "1e400", "99999999999", "x0", "x99999999", "x", "224x", "3x3", "nan", "#", "é",
              "\u202e", "0x10", ".", "1e-400", "+7", "x2,", "\t", "\n"]


def zoo_texts() -> list[bytes]:
    return [p.read_bytes() for p in sorted(zoo_dir().glob("*.spach"))]


PLAUSIBLE_NUMBERS = ["0", "1", "2", "3", "5", "6", "7", "16", "30", "33", "64", "1000", "0.5", "1e-4", "0.99", "x1",
                     "x0", "x64", "conv", "trans", "mlp", "pool", "shift", "smlp", "sepconv", "off", "on"]


def mutate_tokens(text: str, rng: random.Random, rounds: int = 3) -> str:
    """Almost-valid specs: delete, duplicate, swap or replace whole tokens, or change a value
    to another plausible one (which keeps the syntax and exercises the static rules)."""
    tokens = text.split(" ") if rng.random() < 0.3 else text.replace("\n", " \n ").split(" ")
    values_only = rng.random() < 0.5
    for _ in range(rng.randint(1, rounds)):
        if not tokens:
            break
        i = rng.randrange(len(tokens))
        op = rng.randrange(5, 8) if values_only else rng.randrange(5)
        if op >= 5:
            words = ("on", "off", "conv", "trans", "mlp", "pool", "shift", "smlp", "sepconv")
            values = [j for j, t in enumerate(tokens) if t[:1].isdigit() or t in words
                      or (t[:1] == "x" and t[1:].isdigit())]
            if values:
                j = rng.choice(values)
                tokens[j] = rng.choice(PLAUSIBLE_NUMBERS)
            continue
        if op == 0:
            del tokens[i]
        elif op == 1:
            tokens.insert(i, tokens[i])
        elif op == 2 and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif op == 3:
            tokens[i] = rng.choice(KEYWORDS)
        else:
            tokens[i] = rng.choice(ODD_VALUES)
    return " ".join(tokens)


def mutate_bytes(data: bytes, rng: random.Random, rounds: int = 4) -> bytes:
    """Byte-level damage: flips, inserts (junk, NUL, UTF-8 fragments), deletions, splices."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        pos = rng.randrange(len(buf) + 1)
        op = rng.randrange(5)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 2 and buf:
            del buf[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            buf[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"\xe2\x82", "é".encode(), b"\r\n", b"#", b"->"])
        else:
            start = rng.randrange(len(buf) + 1)
            buf[pos:pos] = buf[start:start + rng.randint(1, 40)]
    return bytes(buf)


def _inside(d: Diagnostic, text: str) -> bool:
    if d.span is None:
        return False
    lines = text.split("\n")
    if d.span.source.text != text:  # diagnostics about another source (e.g. a spec name) sit at 1:1
        return (d.line, d.column) == (1, 1)
    if not 1 <= d.line <= len(lines):
        return False
    return 1 <= d.column <= len(lines[d.line - 1]) + 1


def exercise(data: bytes, name: str = "fuzz.spach") -> tuple[str, list[str]]:
    """Run check, fmt and build on one input. Returns (outcome, problems); no problem is allowed."""
    problems: list[str] = []
    try:
        source = decode(data, name)
    except SpecError as exc:
        # Undecodable input: the diagnostic points into the readable prefix (E001) or at 1:1.
        return "rejected", [f"outside: {d.render()}" for d in exc.diagnostics if not _inside(d, d.span.source.text)]
    text = source.text
    try:
        doc = parse_document(source)
    except SpecError as exc:
        return "syntax error", [f"outside: {d.render()}" for d in exc.diagnostics if not _inside(d, text)]
    formatted = format_document(doc)
    if format_document(parse_document(source.__class__(name, formatted))) != formatted:
        problems.append("fmt is not idempotent")
    try:
        resolved = resolve(doc)
    except SpecError as exc:
        return "invalid", problems + [f"outside: {d.render()}" for d in exc.diagnostics if not _inside(d, text)]
    problems += [f"outside: {w.render()}" for w in resolved.warnings if not _inside(w, text)]
    spec = resolved.spec
    if resolve(parse_document(source.__class__(name, formatted))).spec != spec:
        problems.append("fmt changed the meaning")
    counted = summary(spec).params
    try:
        check_params(spec)
    except SpecError:
        return "too large", problems
    if len(spec.blocks) <= 300 and counted <= 20_000_000:
        from spachc.nn.build import skeleton

        built = sum(p.numel() for p in skeleton(spec).parameters())
        if built != counted:
            problems.append(f"built {built} params, counted {counted}")
    return "valid", problems
