"""config/manifest.yml asks Slack for exactly what the code uses."""

import yaml

from bot.notify import slack as notifier
from bot.render.slack import BUTTONS
from bot.slack.app import COMMAND, SCOPES
from tests.conftest import ROOT

MANIFEST = yaml.safe_load((ROOT / "config" / "manifest.yml").read_text(encoding="utf-8"))


def test_the_manifest_asks_for_the_scopes_the_code_needs_and_no_more():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(SCOPES + notifier.SCOPES)


def test_the_manifest_declares_the_slash_command_buttons_and_socket_mode():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True and len(BUTTONS) == 3
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_the_readme_names_every_slack_variable_and_scope():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "connections:write",
        *SCOPES,
        *notifier.SCOPES,
    ):
        assert name in readme, name
