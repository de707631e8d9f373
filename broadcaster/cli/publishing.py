"""The one path of every command that publishes new text: preview, confirm, publish with progress, report."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.cli.options import load_config
from broadcaster.errors import InputError, printable

if TYPE_CHECKING:
    from rich.console import Console

    from broadcaster.messages.gate import Rule


def publish_command(ctx: click.Context, run: Callable[..., Any], options: dict[str, Any]) -> None:
    """Preview, confirm (public posts cannot be taken back), publish with live progress, report.

    ``run(dry_run=..., progress=...)`` performs the publication; every command
    that publishes new text goes through here.
    """
    from broadcaster.cli.plain import is_terminal
    from broadcaster.operations.rooms import asked_once

    # A chat name the service cannot resolve now holds deliveries back: asked before the confirmation, so that it
    # shows them held, and not again by the real run, which holds back just what the operator was shown.
    confirming = not options.get("dry_run") and not options["yes"] and is_terminal()
    with asked_once() if confirming else nullcontext():
        _preview_confirm_publish(ctx, run, options)


def _preview_confirm_publish(ctx: click.Context, run: Callable[..., Any], options: dict[str, Any]) -> None:
    config, as_json = load_config(ctx), options["as_json"]
    preview_result = run(dry_run=True)
    if options.get("dry_run") or any(p.refused for p in preview_result.previews):
        # What the preview would refuse, the publication refuses whole, before storing or sending anything:
        # sending the clean destinations alone would leave a half-published update the site leaves out.
        _print_result(None, preview_result, as_json, config, asked=bool(options.get("dry_run")))
        refuse_leaking_preview(preview_result)
        return
    confirm_publication(preview_result, options["yes"], config)
    if as_json:  # one object at the end, no live progress: nothing of rich on the way to the first upload
        result = run(progress=None)
        _print_result(None, result, as_json, config)
    else:
        from broadcaster.cli import output
        from broadcaster.delivery import DeliveryState  # here: `--help` never needs the delivery records

        out = output.console()
        targets = [(p.destination, p.target) for p in preview_result.previews if p.state == DeliveryState.PENDING]
        with output.progress_for(out, targets, as_json) as progress:
            result = run(progress=progress)
        _print_result(out, result, as_json, config)
    for note in fallback_notes(ctx, config, result):
        click.echo(f"note: {note}", err=True)
    if result.failed:
        ctx.exit(EXIT_DELIVERY)


def _print_result(out: Console | None, result: Any, as_json: bool, config: Any, *, asked: bool = True) -> None:
    """``output.print_post_result``, where ``--json`` needs neither rich nor a console (``out``: the one that showed
    the progress, if any)."""
    if as_json:
        from broadcaster.cli import records
        from broadcaster.cli.plain import print_json

        print_json(records.post_result_json(result, asked=asked))
        return
    from broadcaster.cli import output

    output.print_post_result(out or output.console(), result, as_json, config, asked=asked)


def fallback_notes(ctx: click.Context, config: Any, result: Any) -> list[str]:
    """What a command run on another store than the config's (``--store``, a fallback while the team
    database is down) did not do as usual: that store holds its own incidents alone, and no subscriber."""

    from broadcaster.cli.options import store_override, store_override_secrets
    from broadcaster.config import SITE_DESTINATION, is_subscribers, without_credentials
    from broadcaster.redaction import redact
    from broadcaster.store.location import configured_location

    given = store_override(ctx)
    usual = configured_location(config)
    if not given or (usual is not None and _same_store(usual, given)):
        return []
    override = without_credentials(redact(given, store_override_secrets(ctx)))  # a URL's password is never printed
    sent = {o.destination for o in result.outcomes}
    notes = []
    if sent & {SITE_DESTINATION, *config.publish}:
        notes.append(f"the page was built from {override} alone, so it shows only that store's incidents. Once the "
                     "config's store can be used again: `broadcaster store import` this store's export, then "
                     "`broadcaster site publish`.")
    if config.bot is not None and not any(is_subscribers(d) for d in sent):
        notes.append(f"{override} holds no chat subscribed through the bot, so none was told. Once the team store is "
                     "back, post to them again (`broadcaster post -i ID`).")
    return notes


def _same_store(usual: Any, override: str) -> bool:
    """Whether ``--store`` names the config's own store (a path, a sqlite:/// URL, a database URL)."""
    from pathlib import Path

    usual = usual.reveal() if hasattr(usual, "reveal") else usual
    if isinstance(usual, str) and usual.strip().startswith("sqlite:///"):
        usual = Path(usual.strip().removeprefix("sqlite:///"))
    given = override.strip().removeprefix("sqlite:///") if override.strip().startswith("sqlite:///") else override.strip()
    if isinstance(usual, Path):
        return "://" not in given and Path(given).expanduser().resolve() == usual.resolve()
    spelled = str(usual).strip().replace("postgres://", "postgresql://", 1)
    return spelled == given.replace("postgres://", "postgresql://", 1)


def refuse_leaking_preview(result: Any) -> None:
    """A dry run whose rendering holds detail its readers may not see (private detail on a public channel,
    internal or another customer's detail on a customer's) says so and exits 2 (nothing was stored or sent)."""
    refused = sorted({p.destination for p in result.previews if p.refused})
    if refused:
        # Skipping is safe advice: the page and every channel check the incident's earlier updates alike, so no
        # public destination left in takes what a skipped one refused.
        raise InputError(
            f"the rendering for {', '.join(refused)} holds detail its readers may not see (this update's, or "
            "an earlier update's of this incident), so the egress guard would refuse to send it there (see above). "
            "Nothing was stored or sent. Take the private text (or another customer's name, id or detail) out of "
            "the public message, the title and that customer's detail, or leave those destinations out with --skip."
        )


def read_bounded(stream: BinaryIO, rule: Rule, where: str) -> bytes:
    """All of ``stream``, refused once it holds more than any text within ``rule``'s limit could: a
    mistaken file (a log, ``/dev/zero``) is named at once rather than read into memory whole."""
    most = 2 * rule.max_bytes if rule.max_bytes is not None else 8 * rule.max_chars  # \r\n, 4-byte characters
    data = stream.read(most + 1)
    if len(data) > most:
        raise InputError(f"{where} holds more than {most:,} bytes; a {rule.kind} may be at most "
                         f"{rule.max_bytes or rule.max_chars:,} {'bytes' if rule.max_bytes else 'characters'}. "
                         "Is it the right file? Nothing was stored or sent.")
    return data


def read_message(message: str | None, existing: Any, store: Any, rule: Rule | None = None,
                 correcting: Any = None) -> str:
    """The message from the argument, standard input (``-``) or the editor (``rule``: its limit, a message's
    by default). ``correcting``: the update ``amend`` corrects, which the editor shows (``compose_in_editor``)."""
    if message == "-":
        from broadcaster.messages.gate import MESSAGE

        data = read_bounded(standard_input().buffer, rule or MESSAGE, "standard input")
        try:
            # The line end that ends the input (echo, print, a file) is not text anyone wrote: it must not
            # count toward the length limit, nor be published. Nor is a byte order mark starting it (a file saved by
            # Notepad, PowerShell's pipe): the encoding's mark, which the gate would refuse as an invisible character.
            return data.decode("utf-8-sig").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError as exc:
            raise InputError(f"standard input is not UTF-8 text (byte {exc.start}); convert it and try again.") from exc
    if message is None:
        from broadcaster.cli.plain import is_terminal

        if not is_terminal():
            raise InputError("no MESSAGE given. Pass it as an argument, or `-` to read it from standard input.")
        from broadcaster.compose_editor import compose_in_editor

        return compose_in_editor(existing, store.updates(existing.id) if existing else [], correcting)
    if any("\udc80" <= ch <= "\udcff" for ch in message):
        raise InputError("the message is not valid UTF-8 text; fix your terminal's encoding or pass it with `-` from a UTF-8 file.")
    return message


def standard_input(what: str = "the text", instead: str = "the text itself (a postmortem: its file's path)",
                   nothing: str = "stored or sent") -> TextIO:
    """``sys.stdin`` to read ``-`` from; refused when the command was started with it closed (``<&-``, a job
    runner that closes it): Python then has no stream, and reading one ended "unexpected error (AttributeError)"."""
    if sys.stdin is None:
        raise InputError(f"`-` reads {what} from standard input, but standard input is closed (the command was started "
                         f"with `<&-`, or by a job runner that closes it). Pipe {what} in, or give {instead} in place "
                         f"of `-`. Nothing was {nothing}.")
    return sys.stdin


def confirm_publication(preview_result: Any, yes: bool, config: Any) -> None:
    """Public posts cannot be taken back: show what goes where and ask, unless --yes."""
    if yes:
        return
    from broadcaster.cli import output
    from broadcaster.cli.plain import is_terminal
    from broadcaster.destinations import destinations

    if not is_terminal():
        raise InputError("refusing to publish without confirmation (not a terminal). Public posts cannot be taken back: add --yes.")
    output.print_confirmation(output.console(), preview_result, destinations(config))
    question = "Withdraw it now?" if preview_result.update.kind == "withdrawal" else "Publish now?"
    _forget_keys_typed_ahead()
    try:
        answer = click.prompt(f"{question} [y/N]", default="n", show_default=False, value_proc=_yes_or_no,
                              prompt_suffix=": ")
    except click.Abort:  # Ctrl-C or Ctrl-D at the question: a no, not click's bare "Aborted!" and exit 1
        answer = False
        click.echo(err=True)
    if not answer:
        raise InputError("not published: nothing was stored or sent.")


def _forget_keys_typed_ahead() -> None:
    """A "y" typed while the command was starting (a lock wait, a slow store) would answer a question the operator
    never saw, and a public post cannot be taken back: what the terminal holds unread is dropped before asking."""
    try:
        import termios

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    except (ImportError, OSError, ValueError, AttributeError):  # not a POSIX terminal: nothing can be dropped
        pass


def _yes_or_no(answer: str) -> bool:
    """The confirmation's answer; anything else is asked again, saying what to type (click's own said only
    "invalid input"). A near miss such as "ye" is not taken as yes: a public post cannot be taken back."""
    said = answer.strip().lower()
    if said in ("y", "yes"):
        return True
    if said in ("n", "no", ""):
        return False
    raise click.UsageError(f'"{printable(answer.strip())}" is neither yes nor no. Type y to go ahead, or n (or just Enter) '
                           "to stop with nothing stored or sent.")
