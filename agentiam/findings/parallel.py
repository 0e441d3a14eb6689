"""Work over a list on two cores: this process and a forked child take the items one at a time, over the same memory.

The analysis holds the whole inventory and every principal's permissions in memory; a forked child sees them as they
are (copy-on-write), so nothing is pickled on the way in. Only the child's results come back, pickled through a pipe.
Items are handed out one at a time from a shared counter, so that one costly item (a rule that takes a third of the
time) does not leave the other process idle.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Sequence
from multiprocessing import Value
from typing import Any, TypeVar

from agentiam.runtime import fork_child

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_on_two_cores(items: Sequence[Item], work: Callable[[Item], Result]) -> list[Result]:
    """`[work(item) for item in items]`, shared with a forked child when there are two cores; results in order.

    `work` must not touch a database or any other connection the process holds. If the child fails for any reason
    (killed, out of memory, a result that does not pickle), the items it took are done here: the answer is the same.
    """
    if len(items) < 2 or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return [work(item) for item in items]
    counter = Value("i", 0)

    def take_and_work() -> dict[int, Result]:
        done: dict[int, Result] = {}
        while (position := _take(counter)) < len(items):
            done[position] = work(items[position])
        return done

    theirs = _forked(take_and_work)
    results = take_and_work()
    from_child = theirs()
    if from_child is None:
        log.debug("the forked worker failed: the items it took are done here")
        from_child = {}
    results.update(from_child)
    return [results[position] if position in results else work(items[position]) for position in range(len(items))]


def _take(counter: Any) -> int:
    with counter.get_lock():
        position = int(counter.value)
        counter.value += 1
    return position


def _forked(job: Callable[[], dict[int, Result]]) -> Callable[[], dict[int, Result] | None]:
    """Start `job` in a forked child; the returned function waits for its result (None if the child failed)."""
    read_end, write_end = os.pipe()

    def send() -> None:
        os.close(read_end)
        with os.fdopen(write_end, "wb") as out:
            pickle.dump(job(), out, protocol=pickle.HIGHEST_PROTOCOL)

    pid = fork_child(send)
    os.close(write_end)

    def result() -> dict[int, Result] | None:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()  # all of it before waiting: a child blocked on a full pipe would never exit
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        try:
            return pickle.loads(payload)  # type: ignore[no-any-return]
        except Exception:  # a truncated payload: treated as the failed child it came from
            return None

    return result
