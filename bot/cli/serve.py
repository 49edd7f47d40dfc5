"""`bot serve` (the web app behind email links, and Slack over HTTP) and `bot slack` (Socket Mode)."""

from __future__ import annotations

import click

from bot.cli.common import config_option, open_store
from bot.config import Config


@click.command()
@config_option
def slack(config: Config) -> None:
    """Serve the Slack app over Socket Mode: `/papers` and the buttons under each digest.

    Needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-..., with connections:write); the bot
    dials out to Slack, so no public address is needed. Runs until interrupted.

    \b
    Example:
        SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... bot slack
    """
    import logging

    from bot.logs import log_to_stderr
    from bot.slack.app import serve_socket_mode

    # A long-running server: warnings and errors (a reconnect, a failed command) go to stderr with a time.
    log_to_stderr(logging.WARNING, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_socket_mode(config, on_connected=click.echo)


@click.command()
@click.option("--host", default=None, help="Listen on this address  [default: [web] host]")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Listen on this port  [default: [web] port]")
@config_option
def serve(config: Config, host: str | None, port: int | None) -> None:
    """Answer the unsubscribe and 👍/👎 links in digest emails, /healthz, and Slack at /slack/events.

    Needs BOT_SECRET (the links are signed with it). [web] base_url must be the public address of
    this server, usually through a reverse proxy that terminates TLS. Stops on Ctrl-C.

    \b
    Example:
        BOT_SECRET=... bot serve --port 8080
    """
    import uvicorn

    from bot.errors import ConfigError
    from bot.flow.channels import SECRET_ENV, read_secret
    from bot.flow.fetch import merge_sources, source_titles
    from bot.links import Links
    from bot.web import build_app

    secret = read_secret()
    if not secret:
        raise ConfigError(f"{SECRET_ENV} is not set: `bot serve` checks the signed links with it")
    links = Links(secret, config.web.base_url or "http://localhost", feedback_max_age=config.web.feedback_days * 86_400)
    if not config.web.base_url:
        click.echo(
            "Note: [web] base_url is not set, so digests carry no links for this server to answer,"
            " and it answers only requests to localhost",
            err=True,
        )
    import logging

    from bot.logs import log_to_stderr

    log_to_stderr(logging.INFO, "%(asctime)s %(name)s: %(message)s")
    from bot.slack.app import missing_secrets, slack_routes

    extra_routes = []
    if note := missing_secrets("http"):
        click.echo(f"Note: {note}; /slack/events is not served", err=True)
    else:
        extra_routes = slack_routes(config)
        click.echo("Serving the Slack app at /slack/events", err=True)
    with open_store(config) as store:
        # No access log: it would print every signed token, and a token is all it takes to use a link.
        uvicorn.run(
            build_app(
                store,
                links,
                extra_routes=extra_routes,
                source_titles=lambda: source_titles(merge_sources(config.sources, store.stored_sources())[0]),
                abstract_chars=config.digest.abstract_chars,
            ),
            host=host or config.web.host,
            port=config.web.port if port is None else port,
            access_log=False,
        )
