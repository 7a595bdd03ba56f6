"""The torch-free front end: text -> parse tree -> validated IR, and back to text.

Everything in this package runs without importing torch, so `spachc check`, `fmt` and `diff`
start fast: syntax and parser (Lark), resolve and rules (static checks with spans), the frozen
IR, the printer, diagnostics, analytic counts and limits, and `--set` overrides. The compiler
(spachc.nn) reads only the IR this package produces.
"""
