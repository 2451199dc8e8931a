"""Progress reporting without global state: a context variable holds the current reporter.

Long loops deep inside the certifier call ``advance(label, done, total)``; the CLI installs a
rich progress bar with ``reporting()``; library users and tests get no output by default.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Callable, Iterator, Optional

Reporter = Callable[[str, int, int], None]
_current: ContextVar[Optional[Reporter]] = ContextVar("certify_progress", default=None)


def advance(label: str, done: int, total: int) -> None:
    reporter = _current.get()
    if reporter is not None:
        reporter(label, done, total)


@contextlib.contextmanager
def reporting(console=None) -> Iterator[None]:
    """Show one rich progress bar per label while the block runs (started on first use, so a
    quick run prints nothing extra)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=True)
    tasks: dict[str, int] = {}

    def report(label: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done, total=total)

    token = _current.set(report)
    try:
        yield
    finally:
        _current.reset(token)
        if tasks:
            bar.stop()
