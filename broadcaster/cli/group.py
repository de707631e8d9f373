"""The ``broadcaster`` group: the one place that turns errors into exit codes.

0 all good; 2 bad input or config (nothing stored, nothing sent);
3 stored, but at least one destination failed (see ``show``, resend with ``retry``);
1 anything unexpected; 130 interrupted; 141 the reader of the output went away.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from broadcaster import __version__, lazy_re
from broadcaster.cli.options import debug_enabled, global_options, known_secrets, refusing_options_as_values
from broadcaster.errors import BroadcasterError

EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT, EXIT_DELIVERY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_NUMBER_LIKE = lazy_re.compile(r"-[\d.,]")  # what begins a message ("-5%", "-0.3 s") and never an option
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as the shell reports a tool whose reader went away


class BroadcasterGroup(click.Group):
    """Maps BroadcasterError to a one-line message and its exit code; loads each command's module when it is run."""

    # Command name -> the module of ``broadcaster.cli`` that defines it (in its ``COMMANDS``), imported when the
    # command is looked up: `post` does not build the options of fifteen other commands (about 4 ms of every
    # command's start-up). A name none of them has loads them all, so click's "did you mean" sees every command.
    families: Mapping[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.families})

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        refusing_options_as_values(cmd)
        super().add_command(cmd, name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            family = self.families.get(cmd_name)
            for module in (family,) if family is not None else sorted(set(self.families.values())):
                for command in importlib.import_module(f"broadcaster.cli.{module}").COMMANDS:
                    self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except KeyboardInterrupt:
            _interrupted()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            from broadcaster.redaction import install_logging

            # Every log record of every library is scrubbed of the config's secrets, and
            # the SDKs' own logs stay silent unless --debug.
            with install_logging(debug_enabled(ctx)) as switch:
                ctx.find_root().ensure_object(dict)["log_switch"] = switch
                return self._invoke_reporting(ctx)
        except KeyboardInterrupt:
            # Ctrl-C before the command's own handling (a slow start: the logging's set-up) or as it ends: click said
            # "Aborted!", exit 1, where every other moment says "Interrupted.", exit 130.
            _interrupted()

    def _invoke_reporting(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BroadcasterError as exc:
            _report_error(ctx, exc, exc.exit_code)
        except click.NoSuchOption as exc:
            if not _NUMBER_LIKE.match(exc.option_name):
                raise
            # "-5% of requests failed": a message, not an option.
            raise click.NoSuchOption(
                exc.option_name, ctx=exc.ctx,
                message=(f"{exc.message.rstrip('.')}. If the message begins with {exc.option_name!r}, put `--` just "
                         "before the message, after the options and any incident id: -- \"MESSAGE\""),
            ) from None
        except click.UsageError as exc:
            if not exc.message.startswith("Got unexpected extra argument") or not _takes_words(exc.ctx):
                raise
            # `post --title API errors now`: the words of a title or a message, each taken for one more argument.
            raise click.UsageError(
                f"{exc.message}. A text of several words (a title, a message, a note, a reason) goes in quotes, each "
                "whole: --reason \"posted in error\", \"Elevated error rates now.\" Nothing was stored or sent.",
                ctx=exc.ctx) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _interrupted()
        except BrokenPipeError:
            # The reader of our output went away (`store export | head`): end quietly, as a shell tool
            # killed by SIGPIPE does, and keep Python from complaining again as stdout is flushed.
            import os
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
        except Exception as exc:  # noqa: BLE001 - last line of defence: no raw traceback for operators
            _report_error(ctx, exc, EXIT_UNEXPECTED, unexpected=True)


def _interrupted() -> NoReturn:
    """Ctrl-C, at whatever moment of the command: one line, exit 130 (a second press ends it at once)."""
    _end_at_the_next_interrupt()
    click.echo("Interrupted. Whatever was stored is safe: see `broadcaster show`, resend with `broadcaster retry`.", err=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED)


def _takes_words(ctx: click.Context | None) -> bool:
    """Whether the command takes a text of words (a title, a message, a note, a reason): the hint to quote them is
    wrong anywhere else."""
    return ctx is not None and any(param.name in ("message", "title", "reason", "private") for param in ctx.command.params)


def _end_at_the_next_interrupt() -> None:
    """A second Ctrl-C while the first one's exit waits for the SDKs' worker threads ends the process at once, with
    the same exit code: it interrupted that wait, and Python printed a traceback of its own shutdown. What was stored
    is safe either way; a post left ``sending`` is reaped as ``unknown`` by the next command.

    From the interpreter's exit handlers on, Ctrl-C is ignored: Python's last steps put the default action back,
    and a press then killed the process by SIGINT instead of its exit code (seen with four quick presses)."""
    import atexit
    import os
    import signal
    import sys

    def end(*_: object) -> None:
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    try:
        signal.signal(signal.SIGINT, end)
    except ValueError:  # not the main thread (an embedding caller's): its own Ctrl-C handling stands
        return
    atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)


def _report_error(ctx: click.Context, exc: BaseException, code: int, unexpected: bool = False) -> None:
    import traceback

    from broadcaster.errors import MAX_SHOWN_ERROR, bounded, printable
    from broadcaster.redaction import redact

    secrets = known_secrets(ctx)
    if debug_enabled(ctx):
        # Escaped too: the traceback shows the chained library error (``raise ... from exc``), whose message is
        # a server's text as it came, and our own errors escape only their own message.
        click.echo(printable(redact("".join(traceback.format_exception(exc)), secrets)), err=True)
    message = bounded(printable(redact(str(exc), secrets)), MAX_SHOWN_ERROR)
    if unexpected:
        message = f"unexpected error ({type(exc).__name__}): {message.rstrip('.')}. Run again with --debug for details."
    click.echo(f"error: {message}", err=True)
    ctx.exit(code)


@click.group(cls=BroadcasterGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@global_options
@click.version_option(__version__, prog_name="broadcaster")
def main() -> None:
    """Publish incident updates to a status page, feeds and every configured channel at once.

    Channels: X, Telegram, Slack, Mastodon, Bluesky, Discord, Teams, Matrix, email and webhooks.

    Exit codes: 0 all good; 2 bad input or config (nothing stored or sent);
    3 stored, but at least one destination failed (see `show`, resend with `retry`);
    1 the state file cannot be used, or anything unexpected (run again with --debug); 130 interrupted (Ctrl-C);
    141 the reader of the output went away (`| head`).
    """


refusing_options_as_values(main)  # its own options: `--store --debug post ...`
