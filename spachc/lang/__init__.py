"""The torch-free front end: text -> parse tree -> validated IR, and back to text.

Everything in this package runs without importing torch, so `spachc check`, `fmt` and `diff`
start fast: syntax and parser (Lark), resolve and rules (static checks with spans), the frozen
IR, the printer, diagnostics, analytic counts and limits, and `--set` overrides. Two tables
state the language's facts once: options.py (every statement and stage option) and kinds.py
(every block kind, whose torch modules spachc/nn/mixers/ registers by name). The compiler
(spachc.nn) reads only the IR this package produces.
"""
