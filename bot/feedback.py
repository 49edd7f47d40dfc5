"""Feedback votes as a profile's examples: what digests, `bot profile show` and `/papers show` read from 👍 and 👎."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.models import Profile


def split_votes(votes: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """The listings voted 👍 and those voted 👎, from net votes (`Store.feedback_votes`)."""
    return [i for i, v in votes.items() if v > 0], [i for i, v in votes.items() if v < 0]


def with_feedback(profile: Profile, votes: Mapping[str, int]) -> Profile:
    """The profile with its 👍 papers added to its examples and its 👎 papers to its counter-examples."""
    up, down = split_votes(votes)
    likes = [i for i in dict.fromkeys(profile.likes + up) if votes.get(i, 0) >= 0]
    dislikes = [i for i in dict.fromkeys(profile.dislikes + down) if votes.get(i, 0) <= 0 and i not in likes]
    return replace(profile, likes=likes, dislikes=dislikes)
