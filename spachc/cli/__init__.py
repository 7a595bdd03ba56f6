"""The `spachc` command line. Each command lives in its own module; app.py wires them.

The thread and wait policy is set here, on import, before any command loads torch
(spachc/runtime/threads.py says why).
"""

from ..runtime.threads import configure as _configure_threads

_configure_threads()
