"""The text helpers every room shares, and that each is written once."""

import ast

from bot.strings import cut, fold_accents, one_line, shorten
from tests.conftest import ROOT


def test_one_line_collapses_line_breaks_and_runs_of_spaces():
    assert one_line("Speculative\n  decoding\tat  scale ") == "Speculative decoding at scale"
    assert one_line(None) == ""


def test_cut_ends_a_long_text_with_an_ellipsis_within_the_limit():
    assert cut("abcdefghij", 10) == "abcdefghij"
    assert cut("abcdefghijk", 10) == "abcdefghi…"
    assert cut("two\nlines", 20) == "two lines"


def test_shorten_cuts_at_a_word_and_keeps_a_single_long_word():
    assert shorten("Hello world, and more words here", 14) == "Hello world…"
    assert len(shorten("Hello world, and more words here", 14)) <= 14
    # textwrap.shorten would give only "…" here
    assert shorten("Supercalifragilisticexpialidocious paper", 10) == "Supercali…"


def test_fold_accents_takes_accents_off_letters():
    assert fold_accents("Schrödinger, Ångström, Erdős") == "Schrodinger, Angstrom, Erdos"


def ellipsis_cuts_and_helpers(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.BinOp) and getattr(node.right, "value", None) == "…":
            yield f"line {node.lineno}: + '…'"
        if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in ("one_line", "cut", "shorten"):
            yield f"line {node.lineno}: def {node.name}"
        if isinstance(node, ast.Attribute) and node.attr == "combining":
            yield f"line {node.lineno}: unicodedata.combining"


def test_the_text_helpers_are_written_once():
    found = {
        str(path.relative_to(ROOT)): places
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.name != "strings.py" and (places := list(ellipsis_cuts_and_helpers(path)))
    }
    assert found == {}
