import pytest

from bot.keys import arxiv_id, listing_key, listing_ref, normalise_title


def test_arxiv_versions_are_one_paper():
    assert (
        listing_key(title="x", arxiv="2403.09612v2") == listing_key(title="y", arxiv="2403.09612") == "arxiv:2403.09612"
    )


def test_arxiv_ids_are_found_in_urls_and_old_style():
    assert arxiv_id("https://arxiv.org/abs/2403.09612v3") == "2403.09612"
    assert arxiv_id("http://arxiv.org/pdf/hep-th/9901001v1") == "hep-th/9901001"
    assert arxiv_id("no id here") is None


def test_doi_then_title_when_no_arxiv_id():
    assert listing_key(title="x", doi=" 10.1000/ABC ") == "doi:10.1000/abc"
    assert listing_key(title="x", arxiv="not an id", doi="10.1/x") == "doi:10.1/x"


def test_titles_that_differ_in_case_spacing_and_punctuation_are_one_paper():
    a = listing_key(title="Chimera: A Lossless  Decoding Method")
    b = listing_key(title="chimera -- a lossless\ndecoding method")
    assert a == b and a.startswith("title:")
    assert normalise_title("Café: Décodage!") == "cafe decodage"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("2606.12243", "arxiv:2606.12243"),
        (" 2606.12243v2 ", "arxiv:2606.12243"),
        ("arXiv:2606.12243v3", "arxiv:2606.12243"),
        ("https://arxiv.org/abs/2606.12243", "arxiv:2606.12243"),
        ("https://arxiv.org/pdf/2606.12243v1.pdf", "arxiv:2606.12243"),
        ("hep-th/0701001", "arxiv:hep-th/0701001"),
        ("http://arxiv.org/abs/hep-th/0701001v2", "arxiv:hep-th/0701001"),
        ("arxiv:2606.12243", "arxiv:2606.12243"),
        ("title:0f3c2a1b9d8e7f60", "title:0f3c2a1b9d8e7f60"),
        ("doi:10.48550/arxiv.2606.12243", "doi:10.48550/arxiv.2606.12243"),  # a DOI key stays a DOI key
        ("not-a-paper", "not-a-paper"),  # as typed, for the lookup to call unknown
        ("2606.12243 2606.13392", "2606.12243 2606.13392"),
    ],
)
def test_a_typed_arxiv_id_or_link_means_its_listing_key(typed, key):
    assert listing_ref(typed) == key
