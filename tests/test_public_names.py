"""A module uses another module's public names only, and tests use the bot's public names only:
a leading underscore says "free to change", so nothing outside its module may lean on it."""

import ast

import pytest

from tests.conftest import ROOT


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def bot_modules(tree):
    """The names a file binds to bot's modules (and to what it imports from them)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("bot"))
    return names


def private_imports(path):
    """`from bot.x import _y`, and `m._y` where `m` is a bot module imported by the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = bot_modules(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
            yield from (f"from {node.module} import {a.name}" for a in node.names if private(a.name))
        elif isinstance(node, ast.Attribute) and private(node.attr) and getattr(node.value, "id", None) in modules:
            yield f"{node.value.id}.{node.attr}"


@pytest.mark.parametrize("folder", ["bot", "tests", "benchmarks"])
def test_no_module_uses_another_modules_private_names(folder):
    found = {
        str(path.relative_to(ROOT)): uses
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (uses := list(private_imports(path)))
    }
    assert found == {}
