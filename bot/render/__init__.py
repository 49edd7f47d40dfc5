"""Rendering: a digest as email (HTML and text) and as Slack Block Kit. Never sends."""

from bot.render.email import EmailLinks, RenderedEmail, build_message, render_email, subject_line
from bot.render.slack import escape_mrkdwn, render_slack

__all__ = [
    "EmailLinks",
    "RenderedEmail",
    "build_message",
    "escape_mrkdwn",
    "render_email",
    "render_slack",
    "subject_line",
]
