"""Design-space studies: sample a space, train every sample, report; the library behind
`spachc sweep`. Each function does one command's work and returns a report (a dataclass):

    spachc.sweep.sample(space, n, out=...)      -> StudyReport     (create.py)
    spachc.sweep.new(specs, out=...)            -> StudyReport     (create.py)
    spachc.sweep.run(study, data=..., ...)      -> SweepRunReport  (launch.py)
    spachc.sweep.report(study)                  -> SweepReport     (report.py, a callable module)
    spachc.sweep.search(space, n, out=...)      -> SearchReport    (search.py, a callable module)

They are loaded on first use: `import spachc` stays light, and only `run` imports torch.
"""

import importlib as _importlib

_FUNCTIONS = {"sample": "create", "new": "create", "run": "launch"}
_CALLABLE_MODULES = ("report", "search")  # each module is its own function (see their docstrings)

__all__ = ["new", "report", "run", "sample", "search"]


def __getattr__(name: str):
    if name in _FUNCTIONS:
        return getattr(_importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    if name in _CALLABLE_MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
