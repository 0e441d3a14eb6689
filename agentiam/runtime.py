"""The process side of a CLI run: the interpreter's garbage collector and memory, and forked workers."""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from collections.abc import Callable
from functools import cache

# CPython's default (700, 10, 10) starts a young collection every 700 net allocations, and a full one whenever the
# long-lived heap has grown by a quarter. A scan builds millions of small, acyclic, long-lived objects (parsed
# documents, inventory rows, findings): with the defaults, the collector walking them cost about a quarter of a
# 10,000-role scan (5 of 20 s). Rarer collections still reclaim every cycle; they just walk the heap less often.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (AttributeError, OSError):
        return None


def release_free_memory() -> None:
    """Hand the memory a finished phase freed back to the operating system.

    glibc keeps freed blocks for reuse, but the next phase (reading the scan for the reports) allocates objects of
    other sizes and mostly takes new pages: after a 10,000-role analysis about 185 MB sat unused in the heap, and
    the run's peak was the analysis' leftovers plus the reports' data.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def fork_child(job: Callable[[], None]) -> int:
    """Run `job` in a forked child, which exits 0 when it returns and 1 when it raises; the child's process id.

    The child shares this process' memory copy-on-write; it must not use a connection (database, HTTP) of ours.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which exits without returning
        code = 1
        try:
            job()
            code = 0
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid
