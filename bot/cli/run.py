"""`bot run`, `bot status`, `bot retry`: the scheduler at the terminal, and what it has done."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config, SourceConfig

if TYPE_CHECKING:
    from bot.flow.pipeline import ProfileStatus
    from bot.store import SourceState


@click.command()
@click.option("--once", is_flag=True, help="Do one tick and exit (for cron and for tests).")
@config_option
def run(config: Config, once: bool) -> None:
    """Run the bot: fetch sources when due, send each digest at its profile's local time.

    Ticks every [schedule] tick_seconds; the database says what is due, so restarts and a second
    copy never send a digest twice. SIGTERM or Ctrl-C finishes the message being sent and exits 0.
    With --once, exits 1 if a source or a delivery failed for good.

    \b
    Example:
        bot run
        bot run --once
    """
    import logging

    from bot.flow.clock import run as run_scheduler
    from bot.flow.pipeline import Pipeline
    from bot.logs import log_to_stderr

    log_to_stderr(logging.INFO, "%(asctime)s %(levelname)s %(message)s")
    with open_store(config) as store:
        pipeline = Pipeline.from_config(config, store)
        for note in pipeline.channels.notes:
            logging.getLogger("bot.run").info(note)
        code = run_scheduler(pipeline, once=once)
    sys.exit(code)


@click.command()
@config_option
def status(config: Config) -> None:
    """Show when each profile's next digest goes out, the last one and its deliveries, each source's
    last fetch, and every failed delivery with its error.

    \b
    Example:
        bot status
    """
    from bot.flow.pipeline import Pipeline

    now = datetime.now(UTC)
    with open_store(config) as store:
        found = Pipeline.from_config(config, store).status(now)
    rows = [
        [
            p.profile.name,
            _next_send(p),
            p.latest[0].period if p.latest else "—",
            str(p.latest[0].items) if p.latest else "—",
            ", ".join(f"{s.channel} {s.state}" for s in p.latest) or "—",
        ]
        for p in found.profiles
    ]
    click.echo(table(rows, ["PROFILE", "NEXT SEND", "LAST PERIOD", "PAPERS", "DELIVERIES"]) if rows else "No profiles.")
    click.echo()
    source_rows = [_source_row(configured, state) for configured, state in found.sources]
    click.echo(
        table(source_rows, ["SOURCE", "LAST FETCH", "OUTCOME", "NEW", "ERROR"]) if source_rows else "No sources."
    )
    if found.failed or found.retrying:
        click.echo()
    for s in found.failed:
        click.echo(
            f"failed: delivery {s.id} ({s.profile} via {s.channel}, {s.period}) after {s.attempts} "
            f"attempt{'s' if s.attempts != 1 else ''}: {s.last_error}  → bot retry {s.id}"
        )
    for s in found.retrying:
        click.echo(f"retrying: delivery {s.id} ({s.profile} via {s.channel}, {s.period}), last error: {s.last_error}")


def _next_send(status: ProfileStatus) -> str:
    """When the profile's next digest goes out, in its own time zone."""
    if status.next_send is None:
        return "— (unsubscribed)"
    tz = status.profile.tz
    return f"{status.next_send.due_at.astimezone(ZoneInfo(tz)):%a %Y-%m-%d %H:%M} {tz}"


def _source_row(configured: SourceConfig, state: SourceState | None) -> list[str]:
    if state is None or state.last_fetch_at is None:
        return [configured.name, "never", "—", "—", ""]
    return [
        configured.name,
        f"{state.last_fetch_at:%Y-%m-%d %H:%M} UTC",
        state.last_outcome or "—",
        str(state.last_new or 0),
        cut(state.last_error or "", 60),
    ]


@click.command()
@click.argument("delivery_id", type=int)
@config_option
def retry(config: Config, delivery_id: int) -> None:
    """Queue a failed delivery again (ids from `bot status`); the next tick or `bot digest` sends it.

    \b
    Example:
        bot retry 7
    """
    from bot.errors import StoreError

    with open_store(config) as store:
        try:
            store.requeue(delivery_id)
        except StoreError as exc:
            raise Refused(str(exc)) from None
    click.echo(f"Delivery {delivery_id} is queued again.")
