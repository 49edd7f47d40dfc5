"""The web door, served by `bot serve`: answers the links in digest emails (unsubscribe, 👍/👎) and /healthz.

`build_app` makes the Starlette app; other doors (the Slack HTTP endpoint) mount their own routes
by passing them in `extra_routes`.
"""

from bot.web.app import build_app

__all__ = ["build_app"]
