"""Configuration: `config/bot.toml` read with tomllib into one dataclass per section.

Every default lives here, mirrored with comments in `config/bot.toml`. Secrets never come from
this file, only from the environment. Only the doors (CLI, scheduler, Slack app) read configuration;
the rooms receive what they need as arguments.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

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
class EmailConfig:
    sender: str = "Paper digest <papers@localhost>"


@dataclass(frozen=True)
class OutboxConfig:
    # Where digests are written when no real channel is configured (the default).
    dir: str = "outbox"


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    store: StoreConfig = StoreConfig()
    digest: DigestConfig = DigestConfig()
    rank: RankConfig = RankConfig()
    email: EmailConfig = EmailConfig()
    outbox: OutboxConfig = OutboxConfig()
    sources: tuple[SourceConfig, ...] = ()
    path: Path | None = None


_KIND_NAMES = {int: "whole number", float: "number", str: "string"}
_SECTIONS = {
    "store": StoreConfig,
    "digest": DigestConfig,
    "rank": RankConfig,
    "email": EmailConfig,
    "outbox": OutboxConfig,
}


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config`, else `$BOT_CONFIG`, else `config/bot.toml` (relative to the working directory)."""
    return Path(explicit or os.environ.get("BOT_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config file; a missing default file means built-in defaults, a missing explicit one is an error."""
    explicit = path is not None or "BOT_CONFIG" in os.environ
    resolved = config_path(path)
    data: dict[str, Any] = {}
    if resolved.exists():
        try:
            data = tomllib.loads(resolved.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{resolved}: not valid TOML: {exc}") from exc
    elif explicit:
        raise ConfigError(f"{resolved}: no such config file")

    unknown = set(data) - set(_SECTIONS) - {"sources"}
    if unknown:
        raise ConfigError(f"{resolved}: unknown section(s) {', '.join(sorted(unknown))}")
    sections = {name: _section(resolved, name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()}
    if url := os.environ.get("BOT_DATABASE_URL"):
        sections["store"] = StoreConfig(url=url)
    sources = tuple(_source(resolved, i, raw) for i, raw in enumerate(data.get("sources", [])))
    names = [s.name for s in sources]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"{resolved}: source name(s) used twice: {', '.join(duplicates)}")
    return Config(**sections, sources=sources, path=resolved)


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
    return cls(**raw)


def _source(path: Path, index: int, raw: Any) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [[sources]] entry {index + 1} must be a table")
    options = dict(raw)
    name, kind = options.pop("name", None), options.pop("kind", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: [[sources]] entry {index + 1} needs a name")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{path}: source {name!r} needs a kind")
    return SourceConfig(name=name, kind=kind, options=options)
