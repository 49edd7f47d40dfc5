"""Configuration: `config/bot.toml` read with tomllib into one dataclass per section.

Every default lives here, mirrored with comments in `config/bot.toml`. Secrets never come from
this file, only from the environment. Only the doors (CLI, Slack app, web app) and the pipeline they
build from it (`bot.flow.pipeline.Pipeline.from_config`) read configuration; the rooms below receive
what they need as arguments.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.profile_rules import MAX_TOP
from bot.sources import SOURCE_KINDS
from bot.strings import one_line

DEFAULT_CONFIG_PATH = Path("config/bot.toml")
DEFAULT_DATABASE_URL = "sqlite:///data/bot.db"


@dataclass(frozen=True)
class StoreConfig:
    url: str = DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class DigestConfig:
    # Default size of a digest and the lowest score worth sending; each profile may override both.
    top: int = 10
    min_score: float = 0.05
    # Only listings first seen this recently are candidates, so an old unsent paper never resurfaces.
    max_age_days: int = 7
    # How many characters of each abstract a digest shows.
    abstract_chars: int = 400


SMTP_SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class RankConfig:
    # The TF-IDF vectorizer is fitted on at most this many of the newest listings, so memory stays
    # bounded as the store grows; newer listings are only transformed until the next refit.
    window: int = 50_000
    # Refit when the saved vectorizer is this many days old (or run `bot refit`).
    refresh_days: int = 7
    # Where the fitted vectorizer is saved.
    model_path: str = "data/text-model.joblib"

    def __post_init__(self) -> None:
        if self.window < 1 or self.refresh_days < 1:
            raise ConfigError(f"[rank] window and refresh_days must be ≥ 1, not {self.window} and {self.refresh_days}")


@dataclass(frozen=True)
class ScheduleConfig:
    # How often `bot run` wakes up to fetch due sources and send due digests.
    tick_seconds: int = 60
    # After downtime, a digest whose send time passed less than this long ago is still sent;
    # older ones are recorded as skipped, not sent late.
    catch_up_hours: float = 12.0


@dataclass(frozen=True)
class FetchConfig:
    # The longest one request to a source may take, retries included; a server trickling its answer
    # is given up at this deadline and the source recorded as failed.
    deadline_seconds: float = 60.0
    # A `bot run` tick with digests due waits this long for the sources it is fetching, so their new
    # papers make the digests; a slower source never holds a digest back longer than this.
    digest_wait_seconds: float = 20.0

    def __post_init__(self) -> None:
        if self.deadline_seconds <= 0 or self.digest_wait_seconds < 0:
            raise ConfigError(
                "[fetch] deadline_seconds must be positive and digest_wait_seconds not negative, "
                f"not {self.deadline_seconds} and {self.digest_wait_seconds}"
            )


@dataclass(frozen=True)
class DeliveryConfig:
    # A temporary failure is retried after retry_base_seconds, then twice as long each time
    # (at most retry_max_seconds), up to max_attempts attempts in all; then the delivery has failed.
    max_attempts: int = 8
    retry_base_seconds: int = 60
    retry_max_seconds: int = 3600
    # A claimed delivery is this process's for lease_seconds; if the process dies, another may take it after.
    lease_seconds: int = 300
    # Deliveries claimed at once (an SMTP connection carries a whole batch).
    batch_size: int = 20


@dataclass(frozen=True)
class SmtpConfig:
    # Email digests go through this server when `host` is set; otherwise they stay in the outbox.
    host: str = ""
    # 587 for starttls, 465 for ssl, 25 for none.
    port: int = 587
    # starttls: upgrade a plain connection; ssl: TLS from the first byte; none: no encryption (local relays only).
    security: str = "starttls"
    # Log in as this user with the password in SMTP_PASSWORD; empty means no login.
    username: str = ""
    # The From: of every digest email; its domain also names the Message-IDs.
    sender: str = "Paper digest <papers@localhost>"
    # A PEM file of CA certificates to trust instead of the system's (a private CA); empty: the system's.
    ca_file: str = ""
    # Seconds to wait for the server before a try counts as failed.
    timeout: float = 30.0
    # Tries per message when the server says "try again later" (4xx) or the connection drops.
    attempts: int = 3
    # Where the mailto: of List-Unsubscribe points; empty: the sender's address.
    unsubscribe_mailto: str = ""


@dataclass(frozen=True)
class WebConfig:
    # The public address of `bot serve` (https://papers.example.org); unsubscribe and 👍/👎 links
    # point there. Empty: digests carry no such links.
    base_url: str = ""
    # Where `bot serve` listens; put a TLS-terminating proxy in front of it.
    host: str = "127.0.0.1"
    port: int = 8080
    # Days a 👍/👎 link keeps working; unsubscribe links never expire.
    feedback_days: int = 90


@dataclass(frozen=True)
class SlackConfig:
    # The Web API address: GovSlack has its own, and tests point it at a local server. Keep the trailing slash.
    api_url: str = "https://slack.com/api/"


@dataclass(frozen=True)
class OutboxConfig:
    # Where digests are written when no real channel is configured (the default).
    dir: str = "outbox"


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    # Seconds between fetches (`every = "6h"` in the file); None means the kind's default.
    every: int | None = None
    # "config" for [[sources]] in the file, "store" for those added with `bot source add`.
    origin: str = "config"
    # What readers see (`display_title` in the file, since `title` is an html source's selector);
    # None: made from the kind and its options (`bot.sources.source_title`).
    title: str | None = None


_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Nothing we read changes faster than this; polling more often only costs the sites we read.
MIN_FETCH_INTERVAL = 300


def parse_interval(text: str) -> int:
    """`"30m"`, `"6h"`, `"1d"` → seconds; anything else, or less than 5 minutes, raises ValueError."""
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not an interval like 30m, 6h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < MIN_FETCH_INTERVAL:
        raise ValueError(f"{text!r} is too often: fetch at most every {MIN_FETCH_INTERVAL // 60} minutes")
    return seconds


def format_interval(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Config:
    store: StoreConfig = StoreConfig()
    digest: DigestConfig = DigestConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    fetch: FetchConfig = FetchConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    slack: SlackConfig = SlackConfig()
    smtp: SmtpConfig = SmtpConfig()
    web: WebConfig = WebConfig()
    rank: RankConfig = RankConfig()
    outbox: OutboxConfig = OutboxConfig()
    sources: tuple[SourceConfig, ...] = ()
    path: Path | None = None
    # False when the default file was missing and every value is a default (`defaults_notice`).
    found: bool = True


_KIND_NAMES = {int: "whole number", float: "number", str: "string"}
_SECTIONS = {
    "store": StoreConfig,
    "digest": DigestConfig,
    "schedule": ScheduleConfig,
    "fetch": FetchConfig,
    "delivery": DeliveryConfig,
    "slack": SlackConfig,
    "smtp": SmtpConfig,
    "web": WebConfig,
    "rank": RankConfig,
    "outbox": OutboxConfig,
}


def _at_least(low: float) -> tuple[Callable[[float], bool], str]:
    return (lambda value: value >= low), f"at least {low}"


def _between(low: int, high: int) -> tuple[Callable[[float], bool], str]:
    return (lambda value: low <= value <= high), f"from {low} to {high}"


# The numbers each section needs in range; a value outside is refused at load, naming its key, rather
# than surfacing later as a refusal of something the user never typed (an "invalid --top").
_RANGES: dict[str, dict[str, tuple[Callable[[float], bool], str]]] = {
    "digest": {
        "top": _between(1, MAX_TOP),
        "min_score": ((lambda value: 0 <= value < 1), "a number from 0 up to (not including) 1"),
        "max_age_days": _at_least(1),
        "abstract_chars": _at_least(0),
    },
    "schedule": {"tick_seconds": _at_least(1), "catch_up_hours": _at_least(0)},
    "delivery": {
        key: _at_least(1)
        for key in ("max_attempts", "retry_base_seconds", "retry_max_seconds", "lease_seconds", "batch_size")
    },
    "rank": {"window": _at_least(1), "refresh_days": _at_least(1)},
    "smtp": {"port": _between(1, 65535), "attempts": _at_least(1), "timeout": ((lambda value: value > 0), "above 0")},
    "web": {"port": _between(1, 65535), "feedback_days": _at_least(1)},
}


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config`, else `$BOT_CONFIG`, else `config/bot.toml` (relative to the working directory)."""
    return Path(explicit or os.environ.get("BOT_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config file; a missing default file means built-in defaults, a missing explicit one is an error."""
    explicit = path is not None or "BOT_CONFIG" in os.environ
    resolved = config_path(path)
    data: dict[str, Any] = {}
    found = resolved.exists()
    if found:
        data = _read(resolved)
    elif explicit:
        raise ConfigError(f"{resolved}: no such config file")

    if "email" in data:
        raise ConfigError(f"{resolved}: [email] is now part of [smtp]: move `sender` to [smtp]")
    unknown = set(data) - set(_SECTIONS) - {"sources"}
    if unknown:
        raise ConfigError(f"{resolved}: unknown section(s) {', '.join(sorted(unknown))}")
    sections = {name: _section(resolved, name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()}
    if url := os.environ.get("BOT_DATABASE_URL"):
        sections["store"] = StoreConfig(url=url)
    _check_smtp_and_web(resolved, sections["smtp"], sections["web"])
    sources = tuple(_source(resolved, i, raw) for i, raw in enumerate(data.get("sources", [])))
    names = [s.name for s in sources]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"{resolved}: source name(s) used twice: {', '.join(duplicates)}")
    return Config(**sections, sources=sources, path=resolved, found=found)


def defaults_notice(config: Config) -> str:
    """What a command run without a config file uses, so the files it creates here come as no surprise."""
    url = config.store.url
    store = (
        f"SQLite store at {url.removeprefix('sqlite:///')}"
        if url == DEFAULT_DATABASE_URL
        else "the store in BOT_DATABASE_URL"
    )
    return (
        f"{config.path} not found: using the defaults ({store}, text model at {config.rank.model_path}, "
        f"email digests written to {config.outbox.dir}/, no sources but those added with `bot source add`); "
        "create it or pass --config"
    )


def _read(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}): save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _section(path: Path, name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key {key!r} in [{name}] (known: {', '.join(known)})")
        default = known[key].default
        if not isinstance(value, type(default)) and not (isinstance(default, float) and isinstance(value, int)):
            raise ConfigError(f"{path}: [{name}] {key} must be a {_KIND_NAMES[type(default)]}, not {value!r}")
        in_range, expected = _RANGES.get(name, {}).get(key, (None, ""))
        if in_range is not None and not in_range(value):
            raise ConfigError(f"{path}: [{name}] {key} must be {expected}, not {value!r}")
    return cls(**raw)


def _check_smtp_and_web(path: Path, smtp: SmtpConfig, web: WebConfig) -> None:
    if smtp.security not in SMTP_SECURITY:
        raise ConfigError(f"{path}: [smtp] security must be one of {', '.join(SMTP_SECURITY)}, not {smtp.security!r}")
    if smtp.host and smtp.username and smtp.security == "none":
        raise ConfigError(
            f'{path}: [smtp] security = "none" with a username would send the password unencrypted; use starttls or ssl'
        )
    if web.base_url and not web.base_url.startswith(("https://", "http://")):
        raise ConfigError(f"{path}: [web] base_url must start with https:// (or http:// for a local test)")
    _check_address(path, "sender", smtp.sender)
    if smtp.unsubscribe_mailto:
        _check_address(path, "unsubscribe_mailto", smtp.unsubscribe_mailto)


def _check_address(path: Path, key: str, value: str) -> None:
    """An address that goes into a mail header: a line break in it would start a header of its own."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ConfigError(f"{path}: [smtp] {key} must be one line with no control characters, not {value!r}")
    if "@" not in parseaddr(value)[1]:
        raise ConfigError(
            f'{path}: [smtp] {key} must be an email address, like "Paper digest <papers@example.org>", not {value!r}'
        )


def _source(path: Path, index: int, raw: Any) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [[sources]] entry {index + 1} must be a table")
    options = dict(raw)
    name, kind = options.pop("name", None), options.pop("kind", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: [[sources]] entry {index + 1} needs a name")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{path}: source {name!r} needs a kind")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{path}: source {name!r}: unknown kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})")
    title = options.pop("display_title", None)
    if title is not None and (not isinstance(title, str) or not one_line(title)):
        raise ConfigError(f"{path}: source {name!r}: display_title must be a non-empty string")
    every = options.pop("every", None)
    if every is not None:
        try:
            every = parse_interval(every)
        except ValueError as exc:
            raise ConfigError(f"{path}: source {name!r}: every: {exc}") from None
    return SourceConfig(name=name, kind=kind, options=options, every=every, title=one_line(title) or None)
