"""Ranking: TF-IDF over title and abstract, one vector per profile, a reason for every match.

Imports scikit-learn: import this package only in commands that rank.
"""

from bot.rank.ranker import rank

__all__ = ["rank"]
