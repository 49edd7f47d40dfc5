"""Every command has help with an example, and the README mentions every command."""

import click
import pytest

from bot.cli import cli
from tests.conftest import ROOT


def commands(group: click.Group, prefix: str = ""):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # not group.commands, which holds no lazily imported command
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


@pytest.mark.parametrize(("name", "command"), list(commands(cli)))
def test_each_command_has_help_with_an_example(name, command):
    assert command.help and "Example:" in command.help, f"bot {name} needs help with an Example: block"
    assert f"bot {name}" in command.help


@pytest.mark.parametrize(("name", "command"), list(commands(cli)))
def test_the_readme_documents_each_command(name, command):
    assert f"bot {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[: readme.index("make test") + 20]
    assert "make demo" in quick_start and quick_start.count("\n## ") <= 1
