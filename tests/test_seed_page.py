import pytest

from bot.errors import SourceError
from bot.sources import make_source
from bot.sources.seed_page import parse_seed_page
from tests.conftest import SEED_PAGE


def test_the_real_seed_page_gives_every_paper(seed_listings):
    assert len(seed_listings) == 54
    assert seed_listings[0].title == (
        "Sparse Autoencoders Enable Scalable and Reliable Circuit Identification in Language Models"
    )
    assert seed_listings[-1].title == "2D Matryoshka Sentence Embeddings"
    assert seed_listings[0].abstract.startswith("This paper introduces an efficient and robust method")
    assert len({item.id for item in seed_listings}) == 54
    assert all(item.id.startswith("title:") for item in seed_listings)
    assert all(item.source == "hf-daily-seed" for item in seed_listings)


def test_the_page_header_is_not_a_paper(seed_listings):
    titles = {item.title for item in seed_listings}
    assert not titles & {"new", "Subscribe", "Mar 14", "Get trending papers in your email inbox!"}
    assert all(len(item.abstract) > 200 for item in seed_listings)


def test_ids_are_stable_across_parses():
    text = SEED_PAGE.read_text(encoding="utf-8")
    assert [i.id for i in parse_seed_page(text)] == [i.id for i in parse_seed_page(text)]


def test_a_title_wrapped_over_two_lines_is_one_line():
    page = "Mar 14\n\nA Long Title\nThat Wraps\n\nThe abstract.\n"
    (item,) = parse_seed_page(page)
    assert item.title == "A Long Title That Wraps"
    assert item.abstract == "The abstract."


def test_a_page_without_header_is_read_from_the_top():
    page = "First Title\n\nFirst abstract.\n\n\n\nSecond Title\n\nSecond abstract.\n"
    assert [i.title for i in parse_seed_page(page)] == ["First Title", "Second Title"]


def test_a_title_without_abstract_names_its_line():
    page = "Mar 14\n\nTitle One\n\nAbstract one.\n\nTitle Two\n"
    with pytest.raises(SourceError, match=r"line 7: title 'Title Two' has no abstract"):
        parse_seed_page(page)


def test_an_abstract_where_a_title_should_be_is_refused():
    page = "Mar 14\n\n" + "word " * 200 + "\n\nabstract\n"
    with pytest.raises(SourceError, match=r"line 3: expected a title, found a paragraph"):
        parse_seed_page(page)


def test_an_empty_page_is_refused():
    with pytest.raises(SourceError, match="no papers"):
        parse_seed_page("new\n\nMar 14\n")


def test_the_source_reports_a_missing_file(tmp_path):
    with pytest.raises(SourceError, match=r"cannot read .*nope\.txt: No such file"):
        make_source("seed", "seed_page", {"path": str(tmp_path / "nope.txt")})
    path = tmp_path / "page.txt"
    path.write_text("Title\n\nAbstract.\n")
    source = make_source("seed", "seed_page", {"path": str(path)})
    path.unlink()  # gone after the source was made: its fetch says so
    with pytest.raises(SourceError, match=r"cannot read .*page\.txt: No such file"):
        source.fetch()


def test_the_source_reports_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes("Title\n\nAbstract caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        make_source("seed", "seed_page", {"path": str(path)}).fetch()


def test_unknown_kinds_and_options_are_refused():
    with pytest.raises(SourceError, match="unknown kind 'rss2'"):
        make_source("x", "rss2", {})
    with pytest.raises(SourceError, match="unknown option"):
        make_source("x", "seed_page", {"path": "p", "pth": "typo"})
    with pytest.raises(SourceError, match="missing option"):
        make_source("x", "seed_page", {})
