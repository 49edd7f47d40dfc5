"""Turn an arXiv OAI-PMH ListRecords page (metadataPrefix=arXiv) into the JSONL `bot rank` reads.

    python benchmarks/make_data.py LISTRECORDS.xml > benchmarks/data/arxiv-cs-2016-03.jsonl

Each line: id (arXiv id), title, abstract, authors, categories (primary first), published.
"""

from __future__ import annotations

import json
import sys

from defusedxml import ElementTree

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"


def records(path: str):
    root = ElementTree.parse(path).getroot()
    for meta in root.iter(f"{ARXIV}arXiv"):
        text = lambda tag, meta=meta: " ".join((meta.findtext(f"{ARXIV}{tag}") or "").split())  # noqa: E731
        authors = []
        for author in meta.iter(f"{ARXIV}author"):
            parts = [author.findtext(f"{ARXIV}forenames") or "", author.findtext(f"{ARXIV}keyname") or ""]
            authors.append(" ".join(" ".join(parts).split()))
        yield {
            "id": text("id"),
            "title": text("title"),
            "abstract": text("abstract"),
            "authors": authors,
            "categories": text("categories").split(),
            "published": text("created") or None,
        }


if __name__ == "__main__":
    for record in records(sys.argv[1]):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
