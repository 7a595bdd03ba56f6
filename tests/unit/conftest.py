"""tests/unit starts no process: while a test here sets up, runs and tears down, creating a
subprocess.Popen (and so subprocess.run, check_output, ...) fails the test with a message that
says where it belongs. The classification is then checked on every run, not kept by hand:
what runs the CLI in a real process, trains, or starts torchrun or Ray goes in tests/e2e."""

from __future__ import annotations

import subprocess

import pytest

REFUSAL = ("tests/unit starts no process (it tried to run {args!r}); a test that runs the CLI as a "
           "process, a training run, torchrun or Ray belongs in tests/e2e")


def _refuse(self, args, *rest, **kwargs):
    self._child_created = False  # so that Popen.__del__ has nothing to reap
    raise AssertionError(REFUSAL.format(args=args))


def _guarded(item):
    """Popen refused for this hook, whichever fixture or test code asks for it."""
    saved = subprocess.Popen.__init__
    subprocess.Popen.__init__ = _refuse
    try:
        return (yield)
    finally:
        subprocess.Popen.__init__ = saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from _guarded(item))
