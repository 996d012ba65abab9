"""The progress bar on stderr, drawn for the one protocol of `arenadb.progress.Progress`.

Only on a terminal: logs and pipes stay clean, and the library skips the counting it does only
for a bar (it gets None).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from arenadb.cli.render.tables import human_size
from arenadb.progress import Progress


@contextmanager
def progress_bar(description: str | None = None) -> Iterator[Progress | None]:
    """Yields a `Progress` (what, done, total) drawing one bar, or None without a terminal.

    The bar is labelled `description (what)`, and follows whatever is counted now (a copy counts
    table after table); "bytes" read as sizes."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task: TaskID = bar.add_task(description or "", total=None, count="")

        def update(what: str, done: int, total: int) -> None:
            if what == "bytes":
                count = f"{human_size(done)}/{human_size(total)}"
            else:
                count = f"{done:,}/{total:,}"
            label = f"{description} ({what})" if description else what
            bar.update(task, description=label, completed=done, total=total or None, count=count)

        yield update
