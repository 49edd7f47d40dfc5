"""`bot run`, `bot status`, `bot retry`: the scheduler at the terminal, and what it has done."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config
from bot.models import Profile


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

    from bot.channels import make_channels
    from bot.logs import log_to_stderr
    from bot.scheduler import run as run_scheduler

    log_to_stderr(logging.INFO, "%(asctime)s %(levelname)s %(message)s")
    channels = make_channels(config)
    for note in channels.notes:
        logging.getLogger("bot.run").info(note)
    with open_store(config) as store:
        code = run_scheduler(config, store, channels, once=once)
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
    from bot.fetch import merge_sources

    now = datetime.now(UTC)
    with open_store(config) as store:
        profiles = store.profiles()
        summaries = store.digest_summaries()
        states = store.source_states()
        all_sources, _hidden = merge_sources(config.sources, store.stored_sources())
    latest: dict[str, list] = {}
    for s in summaries:
        if s.profile not in latest or latest[s.profile][0].period < s.period:
            latest[s.profile] = [s]
        elif latest[s.profile][0].period == s.period:
            latest[s.profile].append(s)
    rows = []
    for p in profiles:
        last = latest.get(p.name, [])
        deliveries = ", ".join(f"{s.channel} {s.state}" for s in last) or "—"
        rows.append(
            [
                p.name,
                _next_send(p, last, now),
                last[0].period if last else "—",
                str(last[0].items) if last else "—",
                deliveries,
            ]
        )
    click.echo(table(rows, ["PROFILE", "NEXT SEND", "LAST PERIOD", "PAPERS", "DELIVERIES"]) if rows else "No profiles.")
    click.echo()
    source_rows = []
    for configured in all_sources:
        state = states.get(configured.name)
        if state is None or state.last_fetch_at is None:
            source_rows.append([configured.name, "never", "—", "—", ""])
            continue
        source_rows.append(
            [
                configured.name,
                f"{state.last_fetch_at:%Y-%m-%d %H:%M} UTC",
                state.last_outcome or "—",
                str(state.last_new or 0),
                cut(state.last_error or "", 60),
            ]
        )
    click.echo(
        table(source_rows, ["SOURCE", "LAST FETCH", "OUTCOME", "NEW", "ERROR"]) if source_rows else "No sources."
    )
    failed = [s for s in summaries if s.state == "failed"]
    waiting = [s for s in summaries if s.state == "pending" and s.last_error]
    if failed or waiting:
        click.echo()
    for s in failed:
        click.echo(
            f"failed: delivery {s.id} ({s.profile} via {s.channel}, {s.period}) after {s.attempts} "
            f"attempt{'s' if s.attempts != 1 else ''}: {s.last_error}  → bot retry {s.id}"
        )
    for s in waiting:
        click.echo(f"retrying: delivery {s.id} ({s.profile} via {s.channel}, {s.period}), last error: {s.last_error}")


def _next_send(profile: Profile, last: list, now: datetime) -> str:
    """When the profile's next digest goes out, in its own time zone; none once it has no channel left."""
    from bot.schedule import next_due

    if not profile.channels:  # its only address unsubscribed: no digest is made for it
        return "— (unsubscribed)"
    when = next_due(profile, now)
    if last and last[0].period == when.period:  # made early by hand (`bot digest`): its time sends nothing
        when = next_due(profile, when.due_at)
    local = when.due_at.astimezone(ZoneInfo(profile.tz))
    return f"{local:%a %Y-%m-%d %H:%M} {profile.tz}"


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
