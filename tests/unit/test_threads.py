"""The thread and wait policy (spachc/runtime/threads.py): passive waits unless the user chose,
and the thread count's precedence (that the CLI sets it before torch loads is
tests/e2e/test_threads_cli.py)."""

from __future__ import annotations

from spachc.runtime.threads import available_cpus, configure


def test_passive_wait_policy_unless_the_user_chose_one():
    env: dict = {}
    configure(environ=env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    configure(environ=env)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE"


def test_thread_count_precedence():
    assert configure(environ={}) == available_cpus() >= 1
    assert configure(environ={"OMP_NUM_THREADS": "1"}) == 1
    assert configure(environ={"OMP_NUM_THREADS": "1", "SPACHC_THREADS": "3"}) == 3
    assert configure(3, environ={"SPACHC_THREADS": "1"}) == 3
    env = {"OMP_NUM_THREADS": "zero"}  # not a count: fall back to the CPUs available
    assert configure(environ=env) == available_cpus()
    assert env["OMP_NUM_THREADS"] == str(available_cpus())
