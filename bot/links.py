"""Signed links in digest emails: unsubscribe, 👍/👎 and "view in your browser", made by
`bot.flow.deliver` and checked by `bot.web`.

A token carries what the link acts on (profile id, address, and for feedback the listing and the
vote), signed with BOT_SECRET by itsdangerous (HMAC-SHA1 over a timestamped payload), so nobody can
forge or alter one. Unsubscribe tokens never expire: RFC 8058 links must keep working in old mail.
Feedback tokens expire after `feedback_max_age` seconds. A digest's web link (profile id and digest
id) never expires either: it only shows what was sent. Changing BOT_SECRET invalidates every link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

UNSUBSCRIBE_PATH = "/unsubscribe/"
FEEDBACK_PATH = "/feedback/"
DIGEST_PATH = "/digest/"
DEFAULT_FEEDBACK_MAX_AGE = 90 * 86_400


class BadToken(Exception):
    """The token is malformed, tampered with, signed with another secret, or expired."""


@dataclass(frozen=True)
class UnsubscribeRequest:
    profile_id: int
    address: str


@dataclass(frozen=True)
class DigestView:
    profile_id: int
    digest_id: int


@dataclass(frozen=True)
class FeedbackVote:
    profile_id: int
    address: str
    listing_id: str
    vote: int  # +1 or -1


class Links:
    """Makes and reads the signed links under `base_url` (the public address of `bot serve`)."""

    def __init__(
        self,
        secret: str,
        base_url: str,
        *,
        feedback_max_age: int = DEFAULT_FEEDBACK_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a secret is needed to sign links")
        self.base_url = base_url.rstrip("/")
        self.feedback_max_age = feedback_max_age
        self._clock = clock
        self._unsubscribe = self._serializer(secret, "unsubscribe")
        self._feedback = self._serializer(secret, "feedback")
        self._digest = self._serializer(secret, "digest")

    def _serializer(self, secret: str, purpose: str) -> URLSafeTimedSerializer:
        # A salt per purpose: a feedback token can never be replayed as an unsubscribe token.
        clock = self._clock

        class _Signer(URLSafeTimedSerializer.default_signer):  # type: ignore[name-defined,misc]
            def get_timestamp(self) -> int:
                return int(clock())

        return URLSafeTimedSerializer(secret, salt=f"paper-digest-{purpose}", signer=_Signer)

    # making ----------------------------------------------------------------------------------

    def unsubscribe_url(self, profile_id: int, address: str) -> str:
        token = self._unsubscribe.dumps({"p": profile_id, "e": address})
        return f"{self.base_url}{UNSUBSCRIBE_PATH}{quote(token)}"

    def feedback_url(self, profile_id: int, address: str, listing_id: str, vote: int) -> str:
        token = self._feedback.dumps({"p": profile_id, "e": address, "l": listing_id, "v": vote})
        return f"{self.base_url}{FEEDBACK_PATH}{quote(token)}"

    def digest_url(self, profile_id: int, digest_id: int) -> str:
        token = self._digest.dumps({"p": profile_id, "d": digest_id})
        return f"{self.base_url}{DIGEST_PATH}{quote(token)}"

    # reading ---------------------------------------------------------------------------------

    def read_digest(self, token: str) -> DigestView:
        data = self._load(self._digest, token, max_age=None)
        try:
            return DigestView(profile_id=int(data["p"]), digest_id=int(data["d"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadToken("the link is incomplete") from exc

    def read_unsubscribe(self, token: str) -> UnsubscribeRequest:
        data = self._load(self._unsubscribe, token, max_age=None)
        try:
            return UnsubscribeRequest(profile_id=int(data["p"]), address=str(data["e"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadToken("the link is incomplete") from exc

    def read_feedback(self, token: str) -> FeedbackVote:
        data = self._load(self._feedback, token, max_age=self.feedback_max_age)
        try:
            vote = FeedbackVote(
                profile_id=int(data["p"]), address=str(data["e"]), listing_id=str(data["l"]), vote=int(data["v"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadToken("the link is incomplete") from exc
        if vote.vote not in (-1, 1):
            raise BadToken("the link is incomplete")
        return vote

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, token: str, *, max_age: int | None) -> dict[str, Any]:
        try:
            data = serializer.loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise BadToken("the link has expired") from exc
        except BadSignature as exc:
            raise BadToken("the link is not valid: it may have been cut short or changed") from exc
        if not isinstance(data, dict):
            raise BadToken("the link is incomplete")
        return data
