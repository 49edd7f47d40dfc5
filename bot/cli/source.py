"""`bot source add|list|remove|test`: the places papers are read from, at the terminal.

Sources come from two places: the `[[sources]]` of config/bot.toml, and the store, for those added
here. `bot source add` writes to the store, as `bot profile add` does, so the config file (which
may be read-only in a container, and which a person edits and comments by hand) is never rewritten.
A name in both is the config file's: it wins, and `bot source list` says the stored one is hidden.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import Refused, config_option, cut, open_store, table
from bot.config import Config, SourceConfig, format_interval, parse_interval
from bot.errors import InputError, ProfileError, SourceError
from bot.profile_rules import NAME_RULE, checked_title, valid_name
from bot.sources import SOURCE_KINDS, make_source

if TYPE_CHECKING:
    from bot.store import Store


def all_sources(config: Config, store: Store) -> tuple[list[SourceConfig], list[str]]:
    """Config sources then stored ones; and the stored names hidden by a config source of that name."""
    from bot.flow.fetch import merge_sources  # imports the store's SQLAlchemy: only once a command runs

    return merge_sources(config.sources, store.stored_sources())


def _find(config: Config, store: Store, name: str) -> SourceConfig:
    for source in all_sources(config, store)[0]:
        if source.name == name:
            return source
    raise InputError(f"no source named {name!r} (see `bot source list`)")


@click.group()
def source() -> None:
    """Add, list, test and remove the sources papers are read from."""


@source.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(sorted(SOURCE_KINDS)), help="What sort of place it is.")
@click.option("--url", default=None, help="Where to read (http or https); each kind has a sensible default.")
@click.option("--query", default=None, help='arxiv_api: a search query, e.g. "all:speculative decoding".')
@click.option("--category", "categories", multiple=True, help="arxiv_api, arxiv_rss: an arXiv category (repeatable).")
@click.option("--preset", default=None, help="html: a built-in page reader (hf_papers).")
@click.option("--path", default=None, help="seed_page: a saved page on disk.")
@click.option(
    "--option", "extra", multiple=True, metavar="KEY=VALUE", help="Any other option of the kind (repeatable)."
)
@click.option("--every", default=None, metavar="INTERVAL", help="How often to fetch: 30m, 6h, 1d  [default: per kind]")
@click.option(
    "--title", default=None, help='What readers see, e.g. "arXiv machine learning"  [default: from kind and options]'
)
@config_option
def add(
    config: Config,
    name: str,
    kind: str,
    url: str | None,
    query: str | None,
    categories: tuple[str, ...],
    preset: str | None,
    path: str | None,
    extra: tuple[str, ...],
    every: str | None,
    title: str | None,
) -> None:
    """Add a source, kept in the store beside the [[sources]] of the config file.

    \b
    Example:
        bot source add hf --kind hf_daily
        bot source add cl --kind arxiv_rss --category cs.CL --category cs.LG --every 1d
        bot source add decoding --kind arxiv_api --query "all:speculative decoding" --category cs.CL
        bot source add hf-page --kind html --url https://huggingface.co/papers --preset hf_papers
        bot source add lab --kind html --url https://lab.example.org/papers \\
            --option item=li.paper --option title=a --option text=p
    """
    if not valid_name(name):
        raise Refused(f"invalid source name {name!r}: {NAME_RULE}")
    options: dict[str, Any] = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Refused(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value
    for key, value in (("url", url), ("query", query), ("preset", preset), ("path", path)):
        if value is not None:
            options[key] = value
    if categories:
        options["categories"] = list(categories)
    try:
        seconds = parse_interval(every) if every is not None else None
    except ValueError as exc:
        raise Refused(f"--every: {exc}") from None
    if name in {s.name for s in config.sources}:
        raise Refused(f"a source named {name!r} is in {config.path} already; pick another name")
    try:
        make_source(name, kind, options)
        title = checked_title(title)
    except (SourceError, ProfileError) as exc:
        raise Refused(str(exc)) from None
    with open_store(config) as store:
        store.add_source(name, kind, options, every=seconds, title=title)
    click.echo(f"Added source {name} ({kind}). Try it: bot source test {name}")


@source.command("list")
@config_option
def list_(config: Config) -> None:
    """List every source with its last fetch, outcome and last error.

    \b
    Example:
        bot source list
    """
    from bot.flow.fetch import fetch_interval

    with open_store(config) as store:
        sources, hidden = all_sources(config, store)
        states = store.source_states()
    if not sources:
        click.echo(f"No sources. Add [[sources]] to {config.path} or run: bot source add NAME --kind KIND ...")
        return
    rows = []
    for s in sources:
        state = states.get(s.name)
        every = fetch_interval(s)
        rows.append(
            [
                s.name,
                s.kind,
                "config" if s.origin == "config" else "added",
                format_interval(every) if every else "-",
                _when(state.last_fetch_at) if state and state.last_fetch_at else "never",
                (state.last_outcome or "-") if state else "-",
                str(state.last_new) if state and state.last_new is not None else "-",
                cut(state.last_error, 70) if state and state.last_error else "",
            ]
        )
    click.echo(table(rows, ["NAME", "KIND", "FROM", "EVERY", "LAST FETCH", "OUTCOME", "NEW", "LAST ERROR"]))
    for name in hidden:
        click.echo(f"Note: the added source {name!r} is hidden by the one of that name in {config.path}")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@source.command()
@click.argument("name")
@config_option
def remove(config: Config, name: str) -> None:
    """Remove a source added with `bot source add`; the papers it brought stay.

    Sources in the config file are removed by editing the file.

    \b
    Example:
        bot source remove cl
    """
    if name in {s.name for s in config.sources}:
        raise Refused(f"source {name!r} is defined in {config.path}; remove it there")
    with open_store(config) as store:
        store.remove_source(name)
    click.echo(f"Removed source {name}")


@source.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one per listing, as `bot listings --json`.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most this many.")
@config_option
def test_(config: Config, name: str, as_json: bool, limit: int) -> None:
    """Fetch one source now and print what would be stored; store nothing.

    The fetch is unconditional (no ETag or Last-Modified is sent), so it always shows the content.
    Exits 1 if the source cannot be read, with the reason.

    \b
    Example:
        bot source test hf --limit 5
    """
    from bot.flow.fetch import read_source
    from bot.jsonl import listing_json
    from bot.sources.http import HttpClient, SourceHttp

    with open_store(config) as store:
        chosen = _find(config, store, name)
    with HttpClient(deadline=config.fetch.deadline_seconds) as client:
        listings = read_source(chosen, SourceHttp(client))
    if as_json:
        for item in listings[:limit]:
            click.echo(json.dumps(listing_json(item), ensure_ascii=False))
        return
    click.echo(f"{name} ({chosen.kind}) would store {len(listings)} listing{'s' if len(listings) != 1 else ''}:")
    rows = [
        [i.id, cut(i.title, 60), str(i.upvotes) if i.upvotes is not None else "", ", ".join(i.categories[:3])]
        for i in listings[:limit]
    ]
    if rows:
        click.echo(table(rows, ["ID", "TITLE", "UPVOTES", "CATEGORIES"]))
    if len(listings) > limit:
        click.echo(f"... and {len(listings) - limit} more (--limit)")
