"""Ranking: TF-IDF over title and abstract, one vector per profile, a reason for every match.

`rank` imports scikit-learn, so it is imported on first use (PEP 562): `bot.rank.words`, which
commands that only store a profile need, stays free of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.rank.ranker import rank

__all__ = ["rank"]


def __getattr__(name: str) -> Any:
    if name == "rank":
        from bot.rank.ranker import rank

        return rank
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
