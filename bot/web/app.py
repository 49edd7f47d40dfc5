"""The Starlette app behind `bot serve`: signed links from digest emails, and a health check.

Takes a Store and a `Links` signer; reads no configuration. Routes:

    GET  /healthz              "ok" when the database answers
    GET  /unsubscribe/{token}  a page asking to confirm (mail scanners fetch links; GET changes nothing)
    POST /unsubscribe/{token}  unsubscribes at once: the confirm button, and RFC 8058 one-click
    GET  /feedback/{token}     a page naming the paper and asking to confirm the 👍 or 👎, or saying the
                               reader's vote is recorded already (changes nothing)
    POST /feedback/{token}     records the vote: the confirm button
    GET  /digest/{token}       a sent email digest, the same HTML as the email ("view in your browser")

Only requests for the host of `links.base_url` or a loopback address are answered (400 otherwise),
request bodies over MAX_BODY_BYTES get a 413, and no answer builds a URL from the request's headers.

Every answer is idempotent: unsubscribing twice, or voting the same way twice, changes nothing more.
A bad, expired or tampered token gets a 400 page and changes nothing. Handlers are plain functions,
which Starlette runs in its thread pool, because the store's calls block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.errors import ProfileError
from bot.flow.deliver import email_links
from bot.links import DIGEST_PATH, FEEDBACK_PATH, UNSUBSCRIBE_PATH, BadToken, Links
from bot.render import render_email
from bot.store import Store

# One line per action, naming the profile but never the token: whoever holds a token can use it,
# so `bot serve` turns uvicorn's access log (which prints every path) off.
log = logging.getLogger("bot.web")

# Slack's events and a one-click POST are a few KB; a larger body is refused before it is read.
MAX_BODY_BYTES = 1_000_000
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

_env = Environment(loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(default=True))
# Signed links must not leak through a Referer or be kept by caches.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _page(
    title: str,
    message: str,
    *,
    status: int = 200,
    form_action: str | None = None,
    button: str = "",
    warning: bool = False,
) -> Response:
    """An HTML page; with `form_action`, a button that POSTs there (red when it `warning`s of a loss)."""
    html = _env.get_template("page.html").render(
        title=title, message=message, form_action=form_action, button=button, warning=warning
    )
    return HTMLResponse(html, status_code=status, headers=PRIVATE)


def _bad_link(reason: str) -> Response:
    log.info("refused a link: %s", reason)
    return _page("This link does not work", f"{reason[:1].upper()}{reason[1:]}. Nothing was changed.", status=400)


class _RefuseDeclaredTooLarge:
    """A 413 before any handler runs for a body whose Content-Length is over the cap.

    Starlette's max_body_size trips only when a handler reads the body (which covers chunked
    bodies), and the unsubscribe and vote handlers act without reading theirs.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.max_body_size:
                await PlainTextResponse("Content Too Large", status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_app(
    store: Store,
    links: Links,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    source_titles: Callable[[], Mapping[str, str]] = dict,
    abstract_chars: int = 400,
) -> Starlette:
    """The web app; `extra_routes` (e.g. the Slack endpoint) are mounted beside the bot's own.
    `source_titles` names the sources in a digest shown on the web, read at each request."""

    def healthz(request: Request) -> Response:
        store.ping()
        return PlainTextResponse("ok")

    def unsubscribe(request: Request) -> Response:
        try:
            wanted = links.read_unsubscribe(request.path_params["token"])
        except BadToken as exc:
            return _bad_link(str(exc))
        profile = store.profile_by_id(wanted.profile_id)
        if request.method != "POST":  # GET, or the HEAD of a link checker, which Starlette routes here too
            if profile is None or profile.email != wanted.address or profile.email_unsubscribed:
                return _page("You are unsubscribed", f"{wanted.address} gets no more digest emails.")
            return _page(
                "Unsubscribe?",
                f"Stop sending the “{profile.display_title}” paper digest to {wanted.address}?",
                form_action=str(request.url.path),
                button="Unsubscribe",
                warning=True,
            )
        # POST: the confirm button, or a mail client's one-click (body List-Unsubscribe=One-Click);
        # either way the signed token in the URL is the whole authority, so the body is not needed.
        if profile is not None and store.unsubscribe_email(profile.id, wanted.address):  # type: ignore[arg-type]
            log.info("profile %s: email unsubscribed", profile.name)
        return _page("You are unsubscribed", f"{wanted.address} gets no more digest emails.")

    def feedback(request: Request) -> Response:
        try:
            vote = links.read_feedback(request.path_params["token"])
        except BadToken as exc:
            return _bad_link(str(exc))
        profile = store.profile_by_id(vote.profile_id)
        if profile is None:
            return _bad_link("this digest's profile no longer exists")
        thumb, more, label = ("👍", "more", "More") if vote.vote > 0 else ("👎", "fewer", "Less")
        voter = f"email:{vote.address}"
        if request.method != "POST":  # GET, or the HEAD Starlette answers with the GET route
            # Mail gateways and link scanners open every link of a message, both 👍 and 👎 of every
            # paper: a vote on GET would leave each paper with whichever they opened last. As the
            # unsubscribe link does, the page asks, and only its button (a POST) votes. No script
            # presses it, since the scanners that open pages in a browser would run it too.
            paper = store.listings(ids=[vote.listing_id])
            if not paper:
                return _bad_link("this paper is no longer known to the bot")
            title = f"{thumb} {paper[0].title}"
            earlier = store.vote_of(profile, vote.listing_id, voter)
            if earlier == vote.vote:  # a second click, or the link opened again: say so, ask nothing
                return _page(title, f"Your {thumb} for this paper in the “{profile.display_title}” digest is recorded.")
            instead = f" You gave it {'👍' if earlier == 1 else '👎'} before; this replaces that." if earlier else ""
            return _page(
                title,
                f"Record {thumb} for this paper in the “{profile.display_title}” digest? "
                f"Later digests will bring {more} papers like it.{instead}",
                form_action=str(request.url.path),
                button=f"{thumb} {label} like this",
            )
        try:
            store.record_feedback(profile, vote.listing_id, vote.vote, voter=voter, via="email")
        except ProfileError:  # unknown here, or pruned since the page was shown
            return _bad_link("this paper is no longer known to the bot")
        log.info("profile %s: %s on %s by email", profile.name, thumb, vote.listing_id)
        return _page(f"Thanks: {thumb} noted", f"Later digests will bring {more} papers like this one.")

    def digest(request: Request) -> Response:
        try:
            wanted = links.read_digest(request.path_params["token"])
        except BadToken as exc:
            return _bad_link(str(exc))
        sent = store.sent_digest(wanted.digest_id)
        if sent is None or sent.profile.id != wanted.profile_id:
            return _bad_link("this digest is not kept any more, or was never sent")
        # The email's own HTML, its links signed afresh; only the link to this page is left out.
        signed = email_links(sent, links)
        rendered = render_email(
            sent,
            abstract_chars=abstract_chars,
            links=replace(signed, view=None) if signed else None,
            source_titles=source_titles(),
        )
        return HTMLResponse(rendered.html, headers=PRIVATE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(UNSUBSCRIBE_PATH + "{token}", unsubscribe, methods=["GET", "POST"]),
        Route(FEEDBACK_PATH + "{token}", feedback, methods=["GET", "POST"]),
        Route(DIGEST_PATH + "{token}", digest, methods=["GET"]),
        *extra_routes,
    ]
    # A forged Host header must not reach a handler, nor a redirect Starlette would build from it.
    public = urlsplit(links.base_url).hostname or "localhost"
    hosts = [*LOOPBACK_HOSTS, f"[{public}]" if ":" in public else public]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False),
            Middleware(_RefuseDeclaredTooLarge, max_body_size=max_body_bytes),
        ],
        max_body_size=max_body_bytes,
    )
    # "/healthz/" would otherwise get a redirect to the Host header's address; a 404 names no host.
    app.router.redirect_slashes = False
    return app
