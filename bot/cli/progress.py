"""How `bot fetch` shows its progress: a bar per source on a terminal, one log line per step elsewhere.

Takes the fetch room's started/finished calls (`bot.flow.fetch.Progress`) and draws them; rich is
imported only when stdout is a terminal, so cron runs and pipes pay nothing for it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from bot.flow.fetch import FetchResult, Progress


class LogLines:
    """Plain lines on stderr, for logs: what started and how it ended."""

    def started(self, name: str) -> None:
        click.echo(f"fetch: {name}: reading", err=True)

    def requested(self, name: str, url: str) -> None:
        click.echo(f"fetch: {name}: GET {url}", err=True)

    def finished(self, result: FetchResult) -> None:
        if result.error:
            click.echo(f"fetch: {result.source}: failed: {result.error}", err=True)
        elif result.not_modified:
            click.echo(f"fetch: {result.source}: not modified since the last fetch", err=True)
        else:
            click.echo(
                f"fetch: {result.source}: {result.new} new, {result.updated} updated, {result.unchanged} unchanged",
                err=True,
            )


class Bars:
    """One rich progress bar per source, each complete when its source is done."""

    def __init__(self, progress: Any, names: Sequence[str]) -> None:
        self.progress = progress
        self.tasks = {name: progress.add_task(name, total=1, status="waiting") for name in names}
        self.requests = dict.fromkeys(names, 0)

    def started(self, name: str) -> None:
        self.progress.update(self.tasks[name], status="reading…")

    def requested(self, name: str, url: str) -> None:
        self.requests[name] += 1
        if self.requests[name] > 1:  # paged sources (arXiv API, Hugging Face) say which page
            self.progress.update(self.tasks[name], status=f"page {self.requests[name]}…")

    def finished(self, result: FetchResult) -> None:
        if result.error:
            status = f"[red]failed: {result.error[:60]}"
        elif result.not_modified:
            status = "not modified"
        else:
            status = f"{result.new} new, {result.unchanged + result.updated} known"
        self.progress.update(self.tasks[result.source], completed=1, status=status)


@contextmanager
def fetch_progress(names: Sequence[str], *, tty: bool | None = None, console: Any = None) -> Iterator[Progress]:
    """Bars when stdout is a terminal (or `tty` says so), log lines otherwise; `console` is rich's, for tests."""
    if not (sys.stdout.isatty() if tty is None else tty):
        yield LogLines()
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        yield Bars(progress, names)
