"""What every command shares: the --config option, opening the store, one-line errors, tables."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.config import Config, defaults_notice, load_config
from bot.errors import BotError, ConfigError, InputError, ProfileError, UnreadableStore
from bot.strings import cut as cut  # the commands' table cells

if TYPE_CHECKING:
    from bot.store import Store

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """Bad input: one line on stderr, exit code 2, nothing written."""

    exit_code = 2


def config_option(func: F) -> F:
    """`--config PATH` on every command; the loaded Config is passed as `config`."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        envvar="BOT_CONFIG",
        show_envvar=True,
        help="Config file  [default: config/bot.toml]",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, **kwargs: Any) -> Any:
        with errors_as_exit_codes():
            config = load_config(config_path)
            if not config.found:
                click.echo(f"Warning: {defaults_notice(config)}", err=True)
            return func(*args, config=config, **kwargs)

    return wrapper  # type: ignore[return-value]


class errors_as_exit_codes:
    """Turn the bot's errors into one-line messages: bad input (a damaged database file too) exits 2,
    other failures exit 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, (ProfileError, InputError, ConfigError, UnreadableStore)):
            raise Refused(str(exc)) from exc
        if isinstance(exc, BotError):
            raise click.ClickException(str(exc)) from exc


def open_store(config: Config) -> Store:
    # Imported here: SQLAlchemy takes a quarter of a second to import, which `bot --help` must not pay.
    from bot.store import Store

    return Store(config.store.url)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain aligned text table; cells are cut to keep each line readable in a terminal."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
