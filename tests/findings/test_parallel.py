"""Rules shared between this process and a forked child: the same results, in the same order, whatever happens."""

from __future__ import annotations

import os
import time

import pytest

from agentiam.findings.parallel import map_on_two_cores


def test_results_come_back_in_the_order_of_the_items() -> None:
    assert map_on_two_cores(list(range(25)), lambda n: {"square": n * n}) == [{"square": n * n} for n in range(25)]


def test_the_work_is_shared_with_a_second_process() -> None:
    def slow_pid(_: int) -> int:
        time.sleep(0.02)  # long enough for the child to start and take items, however busy the machine
        return os.getpid()

    pids = map_on_two_cores(list(range(20)), slow_pid)
    assert os.getpid() in pids
    assert len(set(pids)) == 2


def test_the_items_a_dying_child_took_are_done_here() -> None:
    parent = os.getpid()

    def work(n: int) -> int:
        if os.getpid() != parent:
            os._exit(9)  # the child dies on its first item, without a word
        return n + 1

    assert map_on_two_cores(list(range(10)), work) == list(range(1, 11))


def test_a_result_that_does_not_pickle_is_computed_here() -> None:
    results = map_on_two_cores(list(range(6)), lambda n: lambda: n)  # lambdas do not pickle
    assert [make() for make in results] == list(range(6))


def test_one_core_runs_everything_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert set(map_on_two_cores(list(range(8)), lambda _: os.getpid())) == {os.getpid()}
