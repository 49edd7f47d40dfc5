"""A digest as an email: subject, plain text and HTML (Jinja2, autoescaped), and the MIME message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.models import Digest
from bot.render.text import meta_line, one_line, safe_url, shorten

SUBJECT_TITLE_CHARS = 60

_env = Environment(
    loader=PackageLoader("bot.render", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def subject_line(digest: Digest) -> str:
    n = len(digest.items)
    best = shorten(digest.items[0].listing.title, SUBJECT_TITLE_CHARS) if n else ""
    head = f"{n} new paper{'s' if n != 1 else ''} for {digest.profile.name}"
    if n == 0:
        return head
    return f"{head} · {best}" + (f" and {n - 1} more" if n > 1 else "")


def render_email(digest: Digest, *, abstract_chars: int = 400) -> RenderedEmail:
    subject = subject_line(digest)
    items = [
        {
            "title": one_line(item.listing.title),
            "url": safe_url(item.listing.url),
            "meta": meta_line(item.listing),
            "abstract": shorten(item.listing.abstract, abstract_chars),
            "why": ", ".join(item.why) or "overall similarity",
        }
        for item in digest.items
    ]
    context = {
        "subject": subject,
        "heading": f"Papers for {digest.profile.name}",
        "intro": f"{len(items)} new paper{'s' if len(items) != 1 else ''} matching your interests · {digest.period}",
        "items": items,
        "footer": f"You get this digest because of the profile “{digest.profile.name}”. "
        f"Change it with: bot profile edit {digest.profile.name}",
    }
    return RenderedEmail(
        subject=subject,
        text=_env.get_template("digest.txt").render(context),
        html=_env.get_template("digest.html").render(context),
    )


def build_message(
    rendered: RenderedEmail, *, sender: str, to: str | None, message_id: str | None, date: datetime
) -> EmailMessage:
    """multipart/alternative, plain text first and HTML second, as mail clients expect."""
    msg = EmailMessage()
    msg["Subject"] = one_line(rendered.subject)
    msg["From"] = sender
    if to:
        msg["To"] = to
    msg["Date"] = format_datetime(date)
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg
