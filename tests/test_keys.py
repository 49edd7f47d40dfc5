from bot.keys import arxiv_id, listing_key, normalise_title


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
