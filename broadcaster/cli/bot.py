"""``broadcaster bot run``: the Telegram bot chats subscribe themselves through (the ``[bot]`` table).

A thin command over ``broadcaster.bot.runner.run_bot``: long polling by default,
``--webhook URL --listen HOST:PORT`` behind a reverse proxy. It runs until SIGTERM
or SIGINT, then exits 0.
"""

from __future__ import annotations

import click

from broadcaster.cli.options import common, load_config, open_store


@click.group()
def bot() -> None:
    """The Telegram bot chats subscribe themselves through ([bot] in the config)."""


@bot.command("run")
@common
@click.option("--webhook", metavar="URL", help="Webhook mode: the https URL Telegram posts updates to.")
@click.option("--listen", metavar="HOST:PORT", help="Webhook mode: where this process listens (behind the proxy).")
@click.pass_context
def run(ctx: click.Context, /, webhook: str | None, listen: str | None) -> None:
    """Answer /start, /components, /status, /stop and /help in chats until stopped (SIGTERM or Ctrl-C).

    Long polling unless --webhook and --listen are given. Only one may run per bot token.
    """
    from broadcaster.bot.runner import run_bot, settings_of, webhook_mode

    mode = webhook_mode(webhook, listen)
    config = load_config(ctx)
    # Refused before the store is opened: a `cd` typo (the built-in default has no [bot]) made the state file there,
    # and a later `list` in that folder read it as an empty store instead of saying no store is here (review 56a).
    settings_of(config)
    run_bot(config, open_store(ctx, creates=True), mode, lambda line: click.echo(line, err=True))
    click.echo("The bot stopped.", err=True)


COMMANDS = [bot]
