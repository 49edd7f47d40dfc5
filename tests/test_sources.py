"""Each parser against the real recorded responses in tests/fixtures/, paper by paper."""

import json
import re
from datetime import UTC, datetime

import pytest

from bot.errors import SourceError
from bot.sources.arxiv_api import parse_arxiv_atom
from bot.sources.arxiv_rss import parse_arxiv_rss
from bot.sources.feed import parse_feed
from bot.sources.hf_daily import listing_from_item, parse_daily_papers
from bot.sources.html import parse_hf_papers_page, parse_html_listing
from tests.conftest import FIXTURES

HF_API = FIXTURES / "hf_daily_papers_api_2026-06_sotawhat.json"
HF_PAGE = FIXTURES / "hf_papers_page_2024-08-01.html"
ARXIV_NEW = FIXTURES / "arxiv_api_2026-06_transformer_cat-cs.LG.xml"
ARXIV_OLD = FIXTURES / "arxiv_api_2018-02_einstein_oldformat.xml"
RSS_AI = FIXTURES / "arxiv_rss_2026-04-27_cs.AI_trimmed.xml"
RSS_CL = FIXTURES / "arxiv_rss_2026-04-27_cs.CL_trimmed.xml"
RSS_WEEKEND = FIXTURES / "arxiv_rss_2026-08-01_cs.CL_weekend_empty.xml"


def recorded_body(name: str) -> bytes:
    return json.loads((FIXTURES / name).read_text())["body"].encode()


def no_stray_whitespace(listings):
    for item in listings:
        assert "\n" not in item.title and "  " not in item.title and item.title == item.title.strip()
        assert "\n" not in item.abstract and item.abstract == item.abstract.strip()


# Hugging Face Daily Papers API ------------------------------------------------------------------


def test_hf_daily_api_reads_every_paper_with_its_trend_fields():
    papers = parse_daily_papers(HF_API.read_bytes(), source="hf")
    assert len(papers) == 30
    assert all(p.id.startswith("arxiv:") and p.source == "hf" for p in papers)
    no_stray_whitespace(papers)
    by_id = {p.id: p for p in papers}
    msa = by_id["arxiv:2606.13392"]
    assert msa.title == "MiniMax Sparse Attention"
    assert msa.authors[:3] == ("Xunhao Lai", "Weiqi Xu", "Yufeng Yang")
    assert (msa.upvotes, msa.comments) == (103, 4)
    assert msa.github_repo == "https://github.com/MiniMax-AI/MSA" and msa.project_page is None
    assert msa.ai_summary.startswith("MiniMax Sparse Attention enables efficient processing of ultra-long contexts")
    assert msa.published == datetime(2026, 6, 11, tzinfo=UTC)
    assert msa.url == "https://huggingface.co/papers/2606.13392"
    web = by_id["arxiv:2606.10423"]
    assert web.title == "WebChallenger: A Reliable and Efficient Generalist Web Agent"
    assert (web.upvotes, web.comments) == (2, 2)
    assert web.project_page == "https://jayoohwang1.github.io/webchallenger-site/"
    assert by_id["arxiv:2606.13681"].upvotes == 118
    assert by_id["arxiv:2606.00467"].upvotes == 0  # zero is a count, not "unknown"
    assert [p.id for p in papers[:3]] == ["arxiv:2606.00467", "arxiv:2606.12730", "arxiv:2606.13594"]


def test_hf_daily_fields_at_the_top_level_are_read_too():
    item = json.loads(HF_API.read_text())[21]  # MiniMax Sparse Attention
    paper = item.pop("paper")
    flat = item | {k: paper[k] for k in ("id", "upvotes", "authors", "githubRepo")}
    listing = listing_from_item(flat, source="hf")
    assert (listing.id, listing.upvotes, listing.comments) == ("arxiv:2606.13392", 103, 4)
    assert listing.title == "MiniMax Sparse Attention" and listing.github_repo == "https://github.com/MiniMax-AI/MSA"


def test_hf_daily_refuses_json_that_is_not_a_list():
    with pytest.raises(SourceError, match="expected a JSON list of papers, got a JSON dict"):
        parse_daily_papers(b'{"error": "Invalid date"}')


# Hugging Face papers page (HTML with embedded JSON) ---------------------------------------------


def test_the_hf_papers_page_preset_reads_the_json_in_data_props():
    papers = parse_hf_papers_page(HF_PAGE.read_bytes(), source="hf-page")
    assert len(papers) == 13
    no_stray_whitespace(papers)
    first = papers[0]
    assert (first.id, first.title, first.upvotes, first.comments) == (
        "arxiv:2407.21783",
        "The Llama 3 Herd of Models",
        94,
        5,
    )
    assert first.authors[:2] == ("Abhimanyu Dubey", "Abhinav Jauhri")
    assert first.published == datetime(2024, 7, 31, 17, 54, 27, tzinfo=UTC)
    assert [(p.id, p.upvotes) for p in papers[1:3]] == [("arxiv:2407.21705", 24), ("arxiv:2407.21770", 19)]
    assert papers[-1].id == "arxiv:2404.01300" and papers[-1].title.startswith("NeRF-MAE: Masked AutoEncoders")


def test_a_page_without_the_embedded_json_says_the_layout_changed():
    with pytest.raises(SourceError, match="has its layout changed"):
        parse_hf_papers_page(b"<html><body><div>Papers</div></body></html>")


def test_an_html_page_read_with_css_selectors():
    page = b"""<html><head><meta charset="utf-8"></head><body><ul>
      <li class="paper"><a href="/abs/2403.09612v2">Chimera:\n  a lossless decoding method</a><p>Draft then
      verify.</p></li>
      <li class="paper"><a href="javascript:alert(1)">A title with a bad link</a></li>
      <li class="paper"><a href="https://example.org/p"></a></li>
    </ul></body></html>"""
    papers = parse_html_listing(page, page_url="https://arxiv.org/list/cs.CL/new", item="li.paper", title="a", text="p")
    assert [(p.id, p.title, p.url, p.abstract) for p in papers] == [
        (
            "arxiv:2403.09612",
            "Chimera: a lossless decoding method",
            "https://arxiv.org/abs/2403.09612v2",
            "Draft then verify.",
        ),
        (papers[1].id, "A title with a bad link", None, ""),
    ]
    assert papers[1].id.startswith("title:")


def test_a_bad_css_selector_is_one_clear_error():
    with pytest.raises(SourceError, match="bad CSS selector"):
        parse_html_listing(b"<p>x</p>", page_url="https://e.org/", item="li[", title="a")


# arXiv API -----------------------------------------------------------------------------------------


def test_arxiv_api_current_format():
    page = parse_arxiv_atom(ARXIV_NEW.read_bytes(), source="arxiv")
    assert (page.total, page.entries) == (28946, 5)
    papers = page.listings
    no_stray_whitespace(papers)
    assert [p.id for p in papers] == [
        "arxiv:2606.13677",
        "arxiv:2606.13591",
        "arxiv:2606.13568",
        "arxiv:2606.13515",
        "arxiv:2606.13501",
    ]
    mana = papers[0]
    assert mana.title == "Mana: Dexterous Manipulation of Articulated Tools"
    assert mana.authors == ("Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu")
    assert mana.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG")  # primary first
    assert mana.published == datetime(2026, 6, 11, 17, 59, 49, tzinfo=UTC)
    assert mana.url == "https://arxiv.org/abs/2606.13677"
    assert mana.abstract.startswith("Articulated tool manipulation remains a major challenge")
    assert papers[2].categories == ("cs.LG", "math-ph")
    assert papers[4].title == "GF-DiT: Scheduling Parallelism for Diffusion Transformer Serving"
    assert papers[4].categories == ("cs.DC", "cs.LG", "cs.PF")


def test_arxiv_api_old_format_with_wrapped_text_and_msc_codes():
    page = parse_arxiv_atom(ARXIV_OLD.read_bytes())
    assert (page.total, page.entries, len(page.listings)) == (28637, 10, 10)
    papers = page.listings
    no_stray_whitespace(papers)
    first = papers[0]
    assert (first.id, first.title, first.authors) == (
        "arxiv:1801.05533",
        "Einstein-Weyl structures on almost cosymplectic manifolds",
        ("Xiaomin Chen",),
    )
    assert first.abstract.startswith(
        "In this article, we study the Einstein-Weyl structures on almost cosymplectic manifolds."
    )
    assert first.categories == ("math.DG",)  # "53D10, 53D15" is an MSC code, not an arXiv category
    assert first.published == datetime(2018, 1, 17, 3, 5, 51, tzinfo=UTC)
    assert papers[1].id == "arxiv:0802.2137"  # v3 dropped
    assert papers[3].id == "arxiv:math/0502287"  # old-style id
    assert papers[5].title.startswith("Quasi-Einstein and Generalized Quasi-Einstein Warped Products with an ")
    assert papers[7].categories == ("math.DG", "math-ph", "math.MP")


def test_an_arxiv_api_error_feed_becomes_arxivs_reason():
    with pytest.raises(SourceError, match="the arXiv API refused the query: incorrect id format for abc"):
        parse_arxiv_atom(recorded_body("arxiv_api_2026-04_error_400_bad_id.recorded.json"))


def test_an_empty_arxiv_result_is_no_listings():
    page = parse_arxiv_atom(recorded_body("arxiv_api_2026-04_empty_result.recorded.json"))
    assert (page.listings, page.total, page.entries) == ([], 0, 0)


# arXiv RSS -----------------------------------------------------------------------------------------


def test_arxiv_rss_reads_the_days_announcements():
    papers = parse_arxiv_rss(RSS_AI.read_bytes(), source="cs.AI")
    no_stray_whitespace(papers)
    assert [p.id for p in papers] == ["arxiv:2604.21935", "arxiv:2604.21936", "arxiv:2604.21937"]
    math = papers[0]
    assert math.title == "Math Takes Two: A test for emergent mathematical reasoning in communication"
    assert math.authors == ("Michael Cooper", "Samuel Cooper")  # one dc:creator, split on commas
    assert math.categories == ("cs.AI", "cs.LG")
    assert math.abstract.startswith("Although language models demonstrate")  # "arXiv:… Announce Type: new" dropped
    assert math.published == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)
    assert papers[1].categories == ("cs.AI", "cs.CV", "cs.MA") and len(papers[1].authors) == 18
    cl = parse_arxiv_rss(RSS_CL.read_bytes())
    assert cl[0].id == "arxiv:2604.22002"
    assert cl[0].authors == ("Anamta Khan", "Ratna Kandala", "Deepti", "Sheza Munir", "Joyojeet Pal")


def test_arxiv_rss_replacements_are_not_news():
    body = RSS_AI.read_bytes()
    body = body.replace(b"<arxiv:announce_type>new", b"<arxiv:announce_type>replace", 1)
    body = body.replace(b"<arxiv:announce_type>new", b"<arxiv:announce_type>cross", 1)
    papers = parse_arxiv_rss(body)
    assert [p.id for p in papers] == ["arxiv:2604.21936", "arxiv:2604.21937"]


def test_an_empty_weekend_feed_is_a_quiet_day():
    assert parse_arxiv_rss(RSS_WEEKEND.read_bytes()) == []


# Any RSS or Atom feed ------------------------------------------------------------------------------


def test_a_generic_feed_reads_rss_and_atom():
    rss = parse_feed(RSS_CL.read_bytes(), source="blog")
    assert [p.id for p in rss] == ["arxiv:2604.22002", "arxiv:2604.22027", rss[2].id]
    assert rss[0].url == "https://arxiv.org/abs/2604.22002" and rss[0].categories == ("cs.CL",)
    atom = parse_feed(ARXIV_NEW.read_bytes())
    assert [p.id for p in atom][:2] == ["arxiv:2606.13677", "arxiv:2606.13591"]
    assert atom[0].authors == ("Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu")
    assert atom[0].published == datetime(2026, 6, 11, 17, 59, 49, tzinfo=UTC)


def test_a_feed_entry_with_a_doi_is_keyed_by_it_and_its_html_summary_becomes_text():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>Journal</title>
      <item><title>A journal paper</title><link>https://doi.org/10.1000/XYZ.123</link>
        <description>&lt;p&gt;An &lt;b&gt;abstract&lt;/b&gt;.&lt;/p&gt;</description></item>
      <item><title>A blog post</title><link>https://blog.example.org/2403.12345-notes</link></item>
    </channel></rss>"""
    journal, blog = parse_feed(body)
    assert journal.id == "doi:10.1000/xyz.123" and journal.abstract == "An abstract ."
    assert blog.id.startswith("title:")  # digits in a blog URL are not an arXiv id


def test_an_html_page_where_the_item_selector_finds_nothing_says_so():
    with pytest.raises(SourceError, match=r"no element matches the item selector 'li.paper'"):
        parse_html_listing(
            b"<html><body><p>Redesigned!</p></body></html>", page_url="https://e.org/", item="li.paper", title="a"
        )


def test_arxiv_api_reads_the_journal_doi():
    body = ARXIV_NEW.read_bytes().replace(
        b'<arxiv:primary_category term="cs.RO"/>',
        b'<arxiv:primary_category term="cs.RO"/><arxiv:doi>10.1109/TRO.2026.1</arxiv:doi>',
    )
    assert [p.doi for p in parse_arxiv_atom(body).listings] == ["10.1109/tro.2026.1", None, None, None, None]


def test_a_full_page_of_100_arxiv_api_entries():
    page = parse_arxiv_atom((FIXTURES / "arxiv_api_2026-04_testing_m100.body.xml").read_bytes())
    assert (page.entries, len(page.listings)) == (100, 100)
    papers = page.listings
    no_stray_whitespace(papers)
    assert len({p.id for p in papers}) == 100
    assert all(re.fullmatch(r"arxiv:(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})", p.id) for p in papers)
    assert all(p.authors and p.categories and p.published and p.abstract for p in papers)
    assert all(re.fullmatch(r"[a-z][a-z-]*(\.[A-Za-z-]+)?", c) for p in papers for c in p.categories)
    first, last = papers[0], papers[-1]
    assert (first.id, first.title, first.authors[:2], first.categories) == (
        "arxiv:2202.12139",
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques",
        ("Mohit Kumar Ahuja", "Arnaud Gotlieb"),
        ("cs.SE", "cs.LG"),
    )
    assert (last.id, last.categories) == ("arxiv:gr-qc/0103067", ("gr-qc",))
    assert page.total == 214881
    # The recorder of this fixture stored UTF-8 decoded as Latin-1 ("RamÃ\xadrez"): the bytes are read as
    # they are, and nothing here pretends to repair them.


def test_without_a_link_selector_the_link_is_the_title_or_inside_it():
    page = b"""<div class="p"><h3><a href="/abs/2401.00001">Sparse attention at scale</a></h3></div>
               <div class="p"><h3>A paper with no link</h3></div>"""
    with_link, without = parse_html_listing(page, page_url="https://arxiv.org/list/cs.LG/new", item="div.p", title="h3")
    assert (with_link.id, with_link.url) == ("arxiv:2401.00001", "https://arxiv.org/abs/2401.00001")
    assert without.url is None and without.id.startswith("title:")


PARSERS = [
    (HF_API, parse_daily_papers),
    (HF_PAGE, parse_hf_papers_page),
    (ARXIV_NEW, parse_arxiv_atom),
    (ARXIV_OLD, parse_arxiv_atom),
    (RSS_AI, parse_arxiv_rss),
    (RSS_CL, parse_feed),
]


@pytest.mark.parametrize(("path", "parse"), PARSERS, ids=[p.name for p, _ in PARSERS])
def test_a_body_cut_anywhere_is_read_or_refused_with_a_source_error(path, parse):
    body = path.read_bytes()
    for cut in range(0, len(body), max(1, len(body) // 97)):
        try:
            parse(body[:cut])
        except SourceError as exc:
            assert "\n" not in str(exc)
