"""A digest as an email: subject, plain text and HTML (Jinja2, autoescaped, CSS inlined), and the MIME message.

Takes a Digest and, when links are on, the signed URLs to put in it (`EmailLinks`); hands on an
`EmailMessage`. Never signs, reads configuration or sends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.models import Digest, DigestItem
from bot.render.text import AI_SUMMARY_LABEL, meta_line, paper_links, title_url
from bot.strings import one_line, sentences, shorten

Sources = Mapping[str, str]  # source name → the title readers see

SUBJECT_TITLE_CHARS = 60
# Titles, author lines and reasons are cut to this many characters (halved, down to the floor,
# while the HTML is still too big); a paper link longer than MAX_URL_CHARS is left out.
FIELD_CHARS = 300
MIN_FIELD_CHARS = 40
MAX_URL_CHARS = 500
# Gmail clips an HTML part over about 102 KB behind a "view entire message" link.
MAX_HTML_BYTES = 100_000
# RFC 5322's hard line limit. With the default 78, Python's email package turns a header holding
# a long URL (List-Unsubscribe) into RFC 2047 encoded-words, which no mail client reads as a URL.
_POLICY = policy.default.clone(max_line_length=998)

_env = Environment(
    loader=PackageLoader("bot.render", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class EmailLinks:
    """The signed URLs one email carries: unsubscribe, 👍/👎 per listing id, and the digest on the web."""

    unsubscribe: str
    unsubscribe_mailto: str | None = None
    votes: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # listing id → (up, down)
    view: str | None = None  # None on the web page itself


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    links: EmailLinks | None = None


def subject_line(digest: Digest) -> str:
    """`12 papers for you · Chimera: lossless decoding… and 11 more`, always one line."""
    n = len(digest.items)
    head = f"{n} paper{'s' if n != 1 else ''} for you"
    if n == 0:
        return head
    best = shorten(digest.items[0].listing.title, SUBJECT_TITLE_CHARS)
    return one_line(f"{head} · {best}" + (f" and {n - 1} more" if n > 1 else ""))


def render_email(
    digest: Digest,
    *,
    abstract_chars: int = 400,
    links: EmailLinks | None = None,
    source_titles: Mapping[str, str] | None = None,
) -> RenderedEmail:
    """The digest as text and as inlined HTML, made smaller (`_budgets`) until the HTML fits
    MAX_HTML_BYTES (the unsubscribe link also heads the HTML, in case not). Abstracts are cut at a
    sentence end. Sources show by their title in `source_titles`, never by name."""
    for budget in _budgets(abstract_chars):
        rendered = _render(digest, budget, links, source_titles or {})
        if len(rendered.html.encode("utf-8")) <= MAX_HTML_BYTES:
            break
    return rendered


@dataclass(frozen=True)
class _Budget:
    abstract_chars: int
    field_chars: int = FIELD_CHARS
    paper_links: bool = True


def _budgets(abstract_chars: int) -> Iterator[_Budget]:
    """Ever smaller renderings, the last the smallest there is: abstracts shrink first, then the links
    under each paper go (its title still links to it), then abstracts and at last the other fields."""
    while abstract_chars > 50:
        yield _Budget(abstract_chars)
        abstract_chars //= 2
    yield _Budget(abstract_chars)
    yield _Budget(abstract_chars, paper_links=False)
    field_chars = FIELD_CHARS
    while field_chars > MIN_FIELD_CHARS:
        yield _Budget(0, field_chars, paper_links=False)
        field_chars = max(field_chars // 2, MIN_FIELD_CHARS)
    yield _Budget(0, MIN_FIELD_CHARS, paper_links=False)


def _short_url(url: str | None) -> str | None:
    return url if url and len(url) <= MAX_URL_CHARS else None


def _item(item: DigestItem, budget: _Budget, votes: tuple[str | None, str | None], sources: Sources) -> dict[str, Any]:
    listing = item.listing
    abstract_chars, field_chars = budget.abstract_chars, budget.field_chars
    up, down = (_short_url(url) for url in votes)
    url = _short_url(title_url(listing))
    # The title links to the paper's page already: the links under it say only what else there is.
    shown = [(label, to) for label, to in paper_links(listing) if to != url] if budget.paper_links else []
    return {
        "title": shorten(listing.title, field_chars),
        "url": url,
        "meta": shorten(meta_line(listing, sources), field_chars),
        "links": [(label, to) for label, to in shown if _short_url(to)],
        "abstract": sentences(listing.abstract, abstract_chars) if abstract_chars else "",
        "ai_summary": shorten(listing.ai_summary or "", field_chars),
        "ai_label": AI_SUMMARY_LABEL,
        "why": shorten(", ".join(item.why), field_chars) or "overall similarity",
        "up_url": up if up and down else None,
        "down_url": down if up and down else None,
    }


def _render(digest: Digest, budget: _Budget, links: EmailLinks | None, sources: Sources) -> RenderedEmail:
    subject = subject_line(digest)
    votes = links.votes if links else {}
    items = [_item(item, budget, votes.get(item.listing.id, (None, None)), sources) for item in digest.items]
    title = digest.profile.display_title
    context = {
        "subject": subject,
        "heading": f"Papers on {title}" if not digest.profile.title else title,
        "intro": f"{len(items)} new paper{'s' if len(items) != 1 else ''} matching your interests · {digest.period}",
        "items": items,
        "footer": f"You get this digest because you follow “{title}”.",
        "unsubscribe_url": links.unsubscribe if links else None,
        "view_url": _short_url(links.view) if links else None,
    }
    return RenderedEmail(
        subject=subject,
        text=_env.get_template("digest.txt").render(context),
        html=inline_css(_env.get_template("digest.html").render(context)),
        links=links,
    )


def inline_css(html: str) -> str:
    """Copy the <style> rules onto each element's style attribute and drop the <style> block."""
    import css_inline

    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return inliner.inline(html)


def build_message(
    rendered: RenderedEmail, *, sender: str, to: str | None, message_id: str | None, date: datetime
) -> EmailMessage:
    """multipart/alternative, plain text first and HTML second, with RFC 8058 one-click unsubscribe headers."""
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = one_line(rendered.subject)
    msg["From"] = sender
    if to:
        msg["To"] = to
    msg["Date"] = format_datetime(date)
    if message_id:
        msg["Message-ID"] = message_id
    if rendered.links:
        targets = [rendered.links.unsubscribe]
        if rendered.links.unsubscribe_mailto:
            targets.append(rendered.links.unsubscribe_mailto)
        msg["List-Unsubscribe"] = ", ".join(f"<{t}>" for t in targets)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps every body line short and 7-bit, whatever the server's 8BITMIME.
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return msg
