"""What a reader sees of each paper: its links, date and AI summary; titles of sources and profiles,
never their internal names; abstracts cut at a sentence end. Through the real renderers and `bot`."""

import email
import json
from datetime import UTC, datetime
from email import policy

from bot.models import Digest, DigestItem, Listing, Profile
from bot.render import render_email, render_slack
from bot.sources import source_title
from bot.strings import sentences

HF_PAPER = Listing(
    id="arxiv:2611.01234",
    title="Draft models <that> & speed",
    abstract="First sentence. " * 40,
    authors=("Ada Lovelace",),
    url="https://huggingface.co/papers/2611.01234",
    source="hf-internal-7",
    published=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    ai_summary="A <b>draft</b> model speeds decoding.",
    github_repo="https://github.com/example/draft",
    project_page="https://example.org/draft?a=1&b=2",
)
SEED_PAPER = Listing(id="title:abc", title='Ranking "with" R&D & more', abstract="About it.", source="seed-x")


def digest_of(*listings: Listing, profile: Profile | None = None, channel: str = "email") -> Digest:
    profile = profile or Profile(name="zq-retr7", keywords=["speculative decoding", "draft model"], id=1)
    items = tuple(DigestItem(listing=x, score=0.5, why=("draft model",)) for x in listings)
    return Digest(id=1, profile=profile, channel=channel, period="2026-11-27", items=items)


def slack_texts(value) -> list[str]:
    """Every string a Slack reader can see in the payloads: all but the buttons' hidden values."""
    if isinstance(value, dict):
        return [t for key, v in value.items() if key != "value" for t in slack_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in slack_texts(v)]
    return [value] if isinstance(value, str) else []


def test_each_paper_links_its_page_pdf_code_and_project_with_its_date_and_labelled_ai_summary():
    titles = {"hf-internal-7": "Hugging Face Daily Papers"}
    rendered = render_email(digest_of(HF_PAPER), source_titles=titles)
    html, text = rendered.html, rendered.text
    for shown in (html, text):
        assert "https://arxiv.org/pdf/2611.01234" in shown and "https://github.com/example/draft" in shown
        assert "Ada Lovelace · Hugging Face Daily Papers · 26 Nov 2026" in shown
    assert 'href="https://huggingface.co/papers/2611.01234"' in html, "the title links to the paper's page"
    assert 'href="https://example.org/draft?a=1&amp;b=2"' in html and ">Project page</a>" in html
    assert 'href="https://arxiv.org/abs/2611.01234"' in html, "the title leads to Hugging Face: arXiv is linked too"
    assert "<strong>AI summary (Hugging Face):</strong> A &lt;b&gt;draft&lt;/b&gt; model speeds decoding." in html
    assert "AI summary (Hugging Face): A <b>draft</b> model speeds decoding." in text
    assert "Draft models &lt;that&gt; &amp; speed" in html and "<that>" not in html

    [message] = render_slack(digest_of(HF_PAPER, channel="slack"), source_titles=titles)
    section = message["blocks"][3]["text"]["text"]
    assert "<https://arxiv.org/pdf/2611.01234|PDF> · <https://github.com/example/draft|Code>" in section
    assert "<https://example.org/draft?a=1&amp;b=2|Project page>" in section
    assert "_AI summary (Hugging Face):_ A &lt;b&gt;draft&lt;/b&gt; model speeds decoding." in section
    assert "Ada Lovelace · Hugging Face Daily Papers · 26 Nov 2026" in section


def test_a_paper_with_no_id_or_link_links_a_search_for_its_quoted_title():
    query = "%22Ranking+%22with%22+R%26D+%26+more%22"
    arxiv = f"https://arxiv.org/search/?searchtype=title&amp;query={query}"
    scholar = f"https://scholar.google.com/scholar?q={query}"
    html = render_email(digest_of(SEED_PAPER)).html
    assert f'href="{arxiv}"' in html and f'href="{scholar}"' in html and ">Google Scholar</a>" in html
    [message] = render_slack(digest_of(SEED_PAPER, channel="slack"))
    section = message["blocks"][3]["text"]["text"]
    assert section.startswith(f"*1. <{arxiv}|Ranking")
    assert f"<{scholar}|Google Scholar>" in section


def test_abstracts_end_at_a_sentence_within_the_budget():
    abstract = "We cut here. " + "This second sentence is long enough to pass the budget of the digest. " * 3
    html = render_email(digest_of(Listing(id="a", title="T", abstract=abstract)), abstract_chars=60).html
    assert ">\nWe cut here.</p>" in html
    assert sentences(abstract, 60) == "We cut here."
    assert sentences(abstract, 100) == abstract[:82]
    assert sentences("One. Two. Three.", 12) == "One. Two."
    assert sentences("A first sentence far over the budget. Two.", 20) == "A first sentence…"
    assert sentences("Short.", 400) == "Short."


def test_sources_and_profiles_have_readable_default_titles():
    assert source_title("hf_daily", {}) == "Hugging Face Daily Papers"
    assert source_title("seed_page", {"path": "x.txt"}) == "Hugging Face Daily Papers"
    assert source_title("arxiv_rss", {"categories": ["cs.LG"]}) == "arXiv cs.LG"
    assert source_title("arxiv_api", {"categories": "cs.CL, cs.LG"}) == "arXiv cs.CL, cs.LG"
    assert source_title("feed", {"url": "https://blog.example.org/atom.xml"}) == "blog.example.org"
    assert source_title("html", {"url": "https://huggingface.co/papers", "preset": "hf_papers"}) == (
        "Hugging Face Daily Papers"
    )
    assert source_title("arxiv_rss", {"categories": ["cs.LG"]}, "ML") == "ML"
    assert Profile(name="retr", keywords=["speculative decoding", "draft model"]).display_title == (
        "speculative decoding, draft model"
    )
    assert Profile(name="retr", keywords=["x"], title="My papers").display_title == "My papers"
    assert Profile(name="retr", authors=["Ada"]).display_title == "your interests"


def test_readers_never_see_the_internal_source_or_profile_names(workdir, bot):
    """`bot digest` to the outbox, which writes both the email and the Slack payloads."""
    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + 'display_title = "Daily <papers> & co"\n')
    assert bot("profile", "add", "zq-retr7", "--keywords", "speculative decoding, draft model").exit_code == 0
    titled = bot("profile", "add", "zq-other9", "--keywords", "retrieval", "--title", 'Retrieval "RAG" <weekly>')
    assert titled.exit_code == 0, titled.output
    assert bot("fetch").exit_code == 0
    done = bot("digest")
    assert done.exit_code == 0, done.output

    emails = sorted((workdir / "outbox").glob("*.eml"))
    payloads = sorted((workdir / "outbox").glob("*.json"))
    assert len(emails) == 2 and len(payloads) >= 2  # (file names are the operator's: they name the profile)
    seen = []
    for path in emails:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        seen += [message["Subject"], message.get_body(("plain",)).get_content()]
        seen.append(message.get_body(("html",)).get_content())
    for path in payloads:
        seen += slack_texts(json.loads(path.read_text()))
    everything = "\n".join(seen)
    for internal in ("hf-daily-seed", "zq-retr7", "zq-other9"):
        assert internal not in everything, internal
    assert "speculative decoding, draft model" in everything
    assert 'Retrieval "RAG" &lt;weekly&gt;</h1>' in everything, "the title, escaped in the HTML"
    assert 'Retrieval "RAG" <weekly>' in everything
    assert "Daily &lt;papers&gt; &amp; co" in everything and "Daily <papers> & co" in everything
    assert "scholar.google.com/scholar?q=%22" in everything, "seed papers have no id: a search for the title"


def test_titles_are_set_edited_and_refused_when_too_long(workdir, bot):
    assert bot("profile", "add", "p", "--keywords", "decoding", "--title", "  My  papers ").exit_code == 0
    assert json.loads(bot("profile", "show", "p", "--json").output)["title"] == "My papers"
    assert bot("profile", "edit", "p", "--title", "").exit_code == 0
    assert json.loads(bot("profile", "show", "p", "--json").output)["title"] is None
    long = bot("profile", "edit", "p", "--title", "x" * 201)
    assert long.exit_code == 2 and long.stderr.count("\n") == 1
    assert "the title is 201 characters long: give one of at most 200" in long.stderr
    added = bot("source", "add", "lg", "--kind", "arxiv_rss", "--category", "cs.LG", "--title", "x" * 201)
    assert added.exit_code == 2 and "give one of at most 200" in added.stderr

    (workdir / "p.toml").write_text('[[profiles]]\nname = "q"\nkeywords = ["decoding"]\ntitle = "Decoding weekly"\n')
    assert bot("profile", "import", "p.toml").exit_code == 0
    assert json.loads(bot("profile", "show", "q", "--json").output)["title"] == "Decoding weekly"
    (workdir / "p.toml").write_text('[[profiles]]\nname = "q"\nkeywords = ["decoding"]\ntitle = 3\n')
    wrong = bot("profile", "import", "p.toml")
    assert wrong.exit_code == 2 and "profile 1: title must be a string" in wrong.stderr

    config = workdir / "config" / "bot.toml"
    config.write_text(config.read_text() + "display_title = 3\n")
    bad = bot("source", "list")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "source 'hf-daily-seed': display_title must be a non-empty string" in bad.stderr
