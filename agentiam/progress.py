"""The collection progress display: a live line on a terminal, nothing at all in CI, in a pipe or with -q."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from agentiam.pipeline import ScopeDone


@contextmanager
def collection_progress(console: Console, *, quiet: bool) -> Iterator[ScopeDone]:
    """A `ScopeDone` callback for `pipeline.collect`: counts finished scopes and names the last one.

    The total is unknown up front (organisations and regions are discovered while collecting), so it counts up.
    """
    if quiet or not console.is_terminal:
        yield lambda collector, scope, error: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("collected {task.completed} scope(s), {task.fields[failed]} failed"),
        TextColumn("[dim]{task.fields[last]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("collect", total=None, failed=0, last="")
        failed = 0

        def done(collector: str, scope: str, error: str | None) -> None:
            nonlocal failed
            failed += 1 if error else 0
            progress.update(task, advance=1, failed=failed, last=f"{collector} {scope}")

        yield done
