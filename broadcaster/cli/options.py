"""Options shared by many commands, the state they leave on the root context, and shell completion.

``--config``, ``--store`` and ``--debug`` work before or after the command name:
either way their value lands on the root context's ``obj``, where
``load_config`` and ``open_store`` read it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from broadcaster.errors import InputError, printable

if TYPE_CHECKING:  # loaded when a command needs them: `--help` stays quick
    from broadcaster.config import Config
    from broadcaster.config_loader import PublishKnown
    from broadcaster.store import Store

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "Config file (default: $BROADCASTER_CONFIG, then ./broadcaster.toml)."
STORE_HELP = ("Use this store for this one command instead of [store]: a file (e.g. a local fallback "
              "while the team database is down) or a postgresql:// URL.")
DEBUG_HELP = "Show tracebacks and the libraries' logs (secrets redacted)."


def _state(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    root.obj = root.obj or {}
    state: dict[str, Any] = root.obj
    return state


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value is not False and param.name:
        state = _state(ctx)
        state[param.name] = value
        if param.name == "debug":  # given after the command name: the logs open up now
            from broadcaster.redaction import set_debug

            set_debug(state.get("log_switch"), True)
    return value


def _config_option() -> Callable[[F], F]:
    return click.option("--config", "-c", "config", expose_value=False, multiple=True, callback=_remember_one,
                        metavar="FILE", help=CONFIG_HELP)


def _store_option() -> Callable[[F], F]:
    return click.option("--store", "store", expose_value=False, multiple=True, callback=_remember_one,
                        metavar="PATH|URL", help=STORE_HELP)


def _remember_one(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """``--config``/``--store``, once: an alias's ``broadcaster -c prod.toml`` and a ``-c staging.toml`` typed after
    it (or after the command name) would otherwise post silently to the channels and page of the last one."""
    shown = _shown_store if param.name == "store" else repr
    value = _one_value(param, values, shown)
    if value is None:
        return None
    if not value.strip():
        # `--config "$PROD_CONFIG"` with the variable unset: taken as no option, another config's (or the default
        # store's) channels and page would be used without a word.
        what = "the store's file or database URL" if param.name == "store" else "the config file"
        raise click.BadParameter(f"is empty (an unset shell variable?): give {what}. Nothing was stored or sent.",
                                 ctx=ctx, param=param)
    # Any "--..." too: an option of a command not parsed yet (`--store --yes post`), never a file's name.
    _refuse_an_option_name(ctx, param, value, any_long=True)
    if param.name == "store":
        _refuse_hidden_characters(ctx, param, value)
    state = _state(ctx)
    earlier = state.get(param.name or "")
    if earlier is not None and not _same_place(earlier, value):
        raise click.BadParameter(
            f"given before the command name ({shown(earlier)}) and after it ({shown(value)}): which is meant? "
            "Give it once. Nothing was stored or sent.", ctx=ctx, param=param)
    _remember(ctx, param, value)
    return value


def _refuse_hidden_characters(ctx: click.Context, param: click.Parameter, value: str) -> None:
    """A file's name or a URL as ``[store] path`` and ``url`` are read: no control or format character. A zero-width
    space or a soft hyphen copied from a chat named a new, empty store beside the state file (a post made it, and
    built the page from it alone), and an escape sequence was printed to the terminal by every message naming it."""
    from broadcaster.messages import gate

    try:
        gate.normalise(value, "the store's file or URL")
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def _same_place(first: str, second: str) -> bool:
    """``prod.toml`` and ``./prod.toml`` are one file: the same place named twice is not two places."""
    if first == second:
        return True
    if "://" in first or "://" in second:
        return False
    return os.path.realpath(os.path.expanduser(first)) == os.path.realpath(os.path.expanduser(second))


def _shown_store(value: str) -> str:
    """A ``--store`` value as an error may show it: a URL's password masked, a connection string not at all."""
    from broadcaster.redaction import redact
    from broadcaster.store.location import _looks_like_a_url_or_connection_string

    if "://" not in value and _looks_like_a_url_or_connection_string(value):
        return "(a connection string, not shown)"
    return repr(redact(value, _store_secrets(value)))


def _debug_option() -> Callable[[F], F]:
    return click.option("--debug", is_flag=True, expose_value=False, callback=_remember, help=DEBUG_HELP)


def global_options(command: F) -> F:
    """``--config``, ``--store``, ``--debug`` on the group (before the command name)."""
    return _config_option()(_store_option()(_debug_option()(command)))


def common(command: F) -> F:
    """``--config``, ``--store`` and ``--debug`` on every command too, so they work in either position."""
    return _debug_option()(_store_option()(_config_option()(command)))


def debug_enabled(ctx: click.Context) -> bool:
    return bool((ctx.find_root().obj or {}).get("debug"))


def known_secrets(ctx: click.Context) -> list[str]:
    """The loaded config's secrets and the password of a ``--store`` URL (for redaction)."""
    config = (ctx.find_root().obj or {}).get("loaded")
    return [*(config.secret_values() if config is not None else []), *store_override_secrets(ctx)]


def store_override_secrets(ctx: click.Context) -> list[str]:
    """The password of a ``--store`` URL, as written and decoded, in its userinfo or its query."""
    return _store_secrets(store_override(ctx) or "")


def _store_secrets(override: str) -> list[str]:
    from broadcaster.config import url_credentials

    query = re.findall(r"[?&](?:ssl)?password=([^&#]+)", override, re.IGNORECASE)  # libpq's key passphrase too
    return [*url_credentials(override, user_alone=False), *query]


def load_config(ctx: click.Context, *, publish_known: PublishKnown | None = None) -> Config:
    """The config of this invocation, loaded once; its secrets are known to redaction from then on.
    ``publish_known``: see ``config_loader.load`` (called only by the load that reads the file)."""
    from broadcaster import config_loader as config_module

    state = _state(ctx)
    if "loaded" not in state:
        from broadcaster.redaction import remember

        state["loaded"] = config_module.load(state.get("config"), publish_known=publish_known)
        remember(state["loaded"].secret_values())
        if state["loaded"].path is None and not ctx.resilient_parsing:  # never into a shell's completion
            _refuse_the_default_in_a_site()
            _say_the_default_is_used(ctx)
        elif not state.get("config") and not ctx.resilient_parsing:
            _say_the_folder_config_is_not_used(state["loaded"].path)
    loaded: Config = state["loaded"]
    return loaded


def _refuse_the_default_in_a_site() -> None:
    """The built-in default keeps its private state in ./.broadcaster/: run in a site's own folder (`cd public` to look
    at the page, then a post from there), it would put the store, private notes and all, into the published site."""
    from broadcaster.site.folder import MARKER, site_holding

    here = Path.cwd()
    site = site_holding(here)  # at any depth: `cd public/incidents` to look at a page is as inside
    if site is not None:
        what = (f"is a site broadcaster builds ({MARKER} is in it)" if site == here
                else f"is inside {printable(str(site))}, a site broadcaster builds ({MARKER} is there)")
        raise InputError(
            f"{printable(str(here))} {what}, and no broadcaster.toml is here: "
            "the built-in default would keep its private state inside the published site. Run this from the folder "
            "of your broadcaster.toml (or pass --config FILE). Nothing was stored or sent."
        )


def _say_the_default_is_used(ctx: click.Context) -> None:
    """On stderr, every time: an operator who ran a command in the wrong folder would otherwise post
    "successfully" to the built-in default's page alone, and tell no channel."""
    from broadcaster.config_loader import CONFIG_ENV, DEFAULT_NAME
    from broadcaster.redaction import redact

    store = store_override(ctx)  # its password redacted: a --store URL may carry one
    state = f"the state in {redact(store, store_override_secrets(ctx))} (--store)" if store else "the state in ./.broadcaster/"
    click.echo(
        f"Note: no {DEFAULT_NAME} in {printable(str(Path.cwd()))} and ${CONFIG_ENV} is unset, so the built-in default is used: no "
        f"channels, the page in ./public, {state}. If you meant your config, pass "
        f"--config FILE (or cd to its folder); `broadcaster init` writes one here.",
        err=True,
    )


def _say_the_folder_config_is_not_used(used: Path | None) -> None:
    """On stderr, every time: $BROADCASTER_CONFIG, exported in the first hour or for another project, wins over the
    broadcaster.toml of the folder the command runs in, and a post "succeeded" on that other config's page and
    channels while this folder's were told nothing (review 52b)."""
    from broadcaster.config_loader import CONFIG_ENV, DEFAULT_NAME

    try:
        here = Path.cwd() / DEFAULT_NAME
    except FileNotFoundError:  # a shell left in a folder since removed: no broadcaster.toml there to pass over
        return
    if used is None or not here.is_file() or here.resolve() == used.resolve():
        return
    click.echo(
        f"Note: ${CONFIG_ENV} names {printable(str(used))}, which is used; the {DEFAULT_NAME} in "
        f"{printable(str(here.parent))} is not. To use this folder's, pass --config {DEFAULT_NAME} or unset "
        f"{CONFIG_ENV}.",
        err=True,
    )


def store_override(ctx: click.Context) -> str | None:
    """What ``--store`` named, if anything."""
    value = (ctx.find_root().obj or {}).get("store")
    return str(value) if value else None


def open_store(ctx: click.Context, *, upgrade: bool = False, creates: bool = False, publishes: bool = False,
               reads: bool = False, writes: bool | None = None, restores: bool = False) -> Store:
    """The store this command uses (``--store``, else ``[store]``), closed when the command ends.

    ``creates``: the command stores something new (a post, an import), so a ``--store`` file that
    does not exist yet is made. Any other command refuses one: a mistyped path would otherwise
    make an empty store and report it ("Exported 0 incident(s)", "No incidents yet"). So is the built-in
    default's file (``_refuse_no_store_here``).
    ``publishes``: and builds the page from it (``_refuse_a_new_store_beside``).
    ``restores``: the command fills a store from an export (``store import``): the one that makes the config's state
    file where its page was built before (``_refuse_a_new_store_under_a_built_page``).
    ``reads``: the command only reads (a listing, an export, a dry run): a state file not made yet is not made by
    it; it reads an empty store that leaves nothing behind (``ScratchStore``).
    ``writes``: whether the command stores anything (by default, unless it ``reads``): one that does is refused a state
    file it may not write; one that does not reads a private copy of it (``store.read_only``).
    """
    from broadcaster.redaction import remember
    from broadcaster.store import open_store as _open
    from broadcaster.store import store_location

    remember(store_override_secrets(ctx))  # the database library's logs and errors may quote its URL
    try:
        location = store_location(load_config(ctx), store_override(ctx))
        path = _embedded_file(location)
        named = "--store" if store_override(ctx) else _setting_naming_the_store(load_config(ctx))
        if path is not None:
            from broadcaster.store.sqlite import refuse_a_link_that_cannot_be_followed

            refuse_a_link_that_cannot_be_followed(path, named)  # a loop of links is no "no such file"
        if store_override(ctx) and path is not None and not creates and not path.exists():
            raise InputError(
                f"--store {path}: no such file, so there is no store to read. Check the path; a new store is "
                "made only by a command that stores something (post, store import)."
            )
        if path is not None and path.is_dir():  # a folder named where the file goes: which one, and what to write
            raise InputError(f"{named} {printable(str(path))} is a folder: name the state file in it (e.g. "
                             f"{printable(str(path / 'state.db'))}). Nothing was stored or sent.")
        unmade = path is not None and not path.exists()
        if path is not None and unmade:
            _refuse_an_unmade_file(ctx, path, named, creates=creates, publishes=publishes, reads=reads,
                                   restores=restores)
        unwritable = None
        if path is not None:
            from broadcaster.store.read_only import why_unwritable

            unwritable = why_unwritable(path)
        stores = not reads if writes is None else writes
        if path is not None and unwritable and stores:
            from broadcaster.store.read_only import refusal

            # Never opened read-only for a command that writes: refused before its preview, nothing stored or sent.
            raise InputError(refusal(Path(printable(str(path))), unwritable))
        if path is not None and unmade and reads:
            from broadcaster.store.sqlite import ScratchStore

            store: Store = ScratchStore(stands_for=path.absolute(), when_waiting=_tell_store_waits, setting=named)
            ctx.with_resource(_stopped_as_interrupted())  # its folder is removed however the command is stopped
        elif path is not None and unwritable:
            from broadcaster.store.read_only import CopiedStore

            ctx.with_resource(_stopped_as_interrupted())  # its copy's folder is removed however the command is stopped
            store = CopiedStore(path, when_waiting=_tell_store_waits, setting=named)
        else:
            store = _open(location, upgrade=upgrade, when_waiting=_tell_store_waits, setting=named)
    except OSError as exc:  # a name too long, a loop of links, a file where a folder should be: the path, not us
        given = store_override(ctx)
        if not given and isinstance(exc, PermissionError) and exc.filename:
            # [store] path (or the built-in default) in a folder its owner may not enter (0600): every command ended
            # "unexpected error (PermissionError)", exit 1, the state file's path not even looked at.
            raise InputError(f"the state file {printable(str(exc.filename))}: {exc.strerror}. Check the permissions of "
                             f"its folders ({_setting_naming_the_store(load_config(ctx))}; a folder needs its x bit to be "
                             "entered: chmod u+x). Nothing was stored or sent.") from exc
        if not given or "://" in given:
            raise
        from broadcaster.redaction import redact
        from broadcaster.store.location import _looks_like_a_url_or_connection_string

        # Never a connection string as given: it may hold a password (store_location refuses one in words).
        shown = "(its value is not shown)" if _looks_like_a_url_or_connection_string(given) else redact(
            given, store_override_secrets(ctx))
        check = ("Check the permissions of its folders (a folder needs its x bit to be entered: chmod u+x)"
                 if isinstance(exc, PermissionError) else "Check the path")
        raise InputError(f"--store {shown}: {exc.strerror or exc}. {check}. Nothing was stored or sent.") from exc
    ctx.call_on_close(store.close)
    tell_titles_split(store)
    return store


def _refuse_an_unmade_file(ctx: click.Context, path: Path, named: str, *, creates: bool, publishes: bool,
                           reads: bool, restores: bool) -> None:
    """The checks of a state file not made yet (``open_store``'s flags), before anything stands for it or makes it."""
    from broadcaster.store.location import configured_location
    from broadcaster.store.sqlite import refuse_a_file_for_its_folder

    config = load_config(ctx)
    # Before a scratch store stands for it: else a preview passed, and the post was refused once confirmed.
    refuse_a_file_for_its_folder(path, named)
    if not reads:  # one that reads makes nothing there
        _refuse_a_store_in_the_page(config, path, named)
    _refuse_a_store_misspelt(path, named)
    if store_override(ctx) and publishes:
        _refuse_a_new_store_beside(_embedded_file(configured_location(config)), path)
    if not store_override(ctx) and not reads and not restores:
        _refuse_a_new_store_under_a_built_page(config, path, named)
    if not creates and config.path is None:
        _refuse_no_store_here(path)


@contextmanager
def _stopped_as_interrupted() -> Iterator[None]:
    """SIGTERM (a job's timeout, `kill`) and SIGHUP (the terminal closed) as Ctrl-C while a ``ScratchStore`` is open:
    by default they ended the process at once, and its temporary folder stayed in $TMPDIR, one more at each (a post's
    preview waits at its question with one open). At the question they now answer no, as Ctrl-C does; elsewhere the
    command ends as interrupted, and either way the folder is removed. Only in the main thread, where Python runs
    signal handlers; the publication's own handling of SIGTERM (``engine``) puts this one back when it ends."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {number: signal.getsignal(number) for number in stops}
    for number in stops:
        if previous[number] == signal.SIG_DFL:  # one ignored (nohup) or handled by another (a test runner) is left so
            signal.signal(number, _interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def _interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def open_store_to_publish(ctx: click.Context, *, creates: bool, dry_run: bool) -> Store:
    """The store of a command that publishes new text (a post, a maintenance window): its preview runs on it, then,
    confirmed, the publication on ``Store.lasting()``. With the built-in default and its state file not made yet,
    the preview reads an empty store that leaves nothing behind and only the publication makes the file: a post
    refused at its preview (a marker's typo, an unknown component) said "Nothing was stored or sent" and left
    ``.broadcaster/state.db``, which the next `list` there read as an empty store instead of saying that no store is
    here. With a config the file is made at once, as before: the preview's chat-name lookups are kept in it for the
    publication (the built-in default has no channels)."""
    return open_store(ctx, creates=creates, publishes=True, reads=dry_run or load_config(ctx).path is None,
                      writes=not dry_run)


def _refuse_no_store_here(path: Path) -> None:
    """The built-in default, and its state file not made: nothing was ever stored from this folder, and a command
    that stores nothing new has nothing to read or act on. Made here, it was an empty store in whatever folder a
    `cd` typo left the operator in ("No incidents yet", exit 0), which a later real command there used (review 55b).
    A command that stores something (post, store import) still makes it: the default needs no setup."""
    from broadcaster.config_loader import CONFIG_ENV, DEFAULT_NAME

    raise InputError(
        f"no store here: no {DEFAULT_NAME} in {printable(str(Path.cwd()))}, ${CONFIG_ENV} is unset, and the built-in "
        f"default's state file {printable(str(path.absolute()))} does not exist, so there is nothing to read or act on. "
        "Nothing was stored or sent, and no store was made. Run this from the folder of your broadcaster.toml, or "
        f"pass --config FILE (or set ${CONFIG_ENV}); `broadcaster init` writes a config here, and the first "
        "`broadcaster post` makes the store."
    )


def tell_titles_split(store: Store) -> None:
    """Whichever command opened the store first upgraded it: the incidents whose old titles the upgrade split
    are named there, once (the next command finds the store up to date)."""
    if store.titles_split:
        click.echo(f"{len(store.titles_split)} title(s) held [private] spans and were stored whole: now split as "
                   "today's titles are (the span kept from the public). Their ids were made from the whole title "
                   "and may hold the span, in every address of the incident: " + ", ".join(store.titles_split)
                   + ". Check each (`broadcaster show ID`); one whose id spells the private part can be withdrawn "
                   "(`broadcaster withdraw ID`) and posted again under its public title.", err=True)


def _tell_store_waits(path: Path) -> None:
    from broadcaster.store.sqlite import BUSY_TIMEOUT_MS

    click.echo(
        f"Waiting for the state file {printable(str(path))}: another `broadcaster` command is writing to it, or one "
        f"was suspended with Ctrl-Z (resume it with `fg`). This command goes on once it is free (it gives up after "
        f"{BUSY_TIMEOUT_MS // 1000} s and says what to do); Ctrl-C stops it now.", err=True)


def _setting_naming_the_store(config: Config) -> str:
    """The setting the operator wrote the store's file in: ``[store] url``, written or ``"${STORE_URL}"``, was told
    as "[store] path", which the config did not set, and the operator looked there for the mistake."""
    variable = getattr(config.store.url, "env_var", "")
    if variable:
        return f"[store] url (${{{variable}}})"
    return "[store] url" if config.store.path_from_url else "[store] path"


def _refuse_a_store_misspelt(path: Path, given: str) -> None:
    """A new ``--store`` file named almost like one beside it is a typo (``state.dv``): the new, empty store would
    build the page from this one update, and every other incident would leave it. A store meant to be new
    (a fallback while the team database is down) has a name of its own, or is made first (``touch``)."""
    similar = _existing_like(path)
    if similar is not None:
        make = f"mkdir -p {path.parent} && touch {path}" if not path.parent.is_dir() else f"touch {path}"
        raise InputError(
            f"{given} {path}: no such file, and {similar} exists. Did you mean {str(similar)!r}? A new store holds "
            "nothing else, so the page built from it would show this update alone. Nothing was stored or sent. If "
            f"you do mean a new store, make it first (`{make}`), then run this again."
        )


def _refuse_a_new_store_beside(configured: Path | None, path: Path) -> None:
    """A new ``--store`` file of a command that builds the page, named as the config's own store (or a typo away from
    it: ``states.db``, review 35e), which is there, in another folder: a path wrong by its folder (``--store
    ./state.db`` for ``.broadcaster/state.db``) made an empty store, and the page built from it dropped every open
    incident (review 35c). A store meant to be new has a name
    of its own (``fallback.db``), or is made first (``touch``); a store moved by ``store import`` or ``migrate``
    builds no page (review 35d)."""
    import difflib

    if (configured is None or not configured.is_file() or _same_place(str(configured), str(path))
            or not difflib.get_close_matches(path.name.casefold(), [configured.name.casefold()], n=1, cutoff=0.8)):
        return  # a name of its own (``fallback.db``): a store meant to be new
    raise InputError(
        f"--store {printable(str(path))}: no such file, and this config's own store "
        f"({printable(str(configured))}) is there. A new store holds nothing else, so the page built from it would "
        "show this update alone, and every other incident would leave it. Nothing was stored or sent. Check the "
        "path, or leave --store out to use the config's store; if you do mean a new, separate store, make it first "
        f"(`touch {printable(str(path))}`), then run this again."
    )


def _refuse_a_store_in_the_page(config: Config, path: Path, named: str) -> None:
    """A new state file named inside the page's output folder (``[store] url = "sqlite:///public/state.db"``): the
    site's check refused it only once the store was open, so the command said 'Nothing was stored or sent' and left
    the new state file (its secret) in the folder a web server serves, telling only to move [page] output_dir. The
    same check (``site.ownership.keep_out``), before the file is made, with the setting that named it."""
    from broadcaster.site.folder import FolderRefused, refuse_holding
    from broadcaster.site.ownership import STORE, keep_out

    try:
        if not path.resolve().is_relative_to(config.output_dir.resolve()):
            return  # a config inside the folder is the site's own refusal, as before
        kept_out = [(what, path if what == STORE else where) for what, where in keep_out(config, None)]
        refuse_holding(config.output_dir, kept_out, "[page] output_dir")
    except FolderRefused as exc:
        raise InputError(f"{exc} Or keep the state file out of it: point {named} at a file outside it (e.g. "
                         ".broadcaster/state.db beside the config). Nothing was stored or sent, and no store was "
                         "made.") from exc
    except OSError:
        return  # a path that cannot be followed is told by the opening, in its own words


def _refuse_a_new_store_under_a_built_page(config: Config, path: Path, named: str) -> None:
    """The config's state file not there, and its page built before (output_dir is broadcaster's): the file moved, its
    setting changed ([store] url to a new folder) or its disk not mounted. Made afresh, the new, empty store built the
    page from nothing (`site publish` put a page without the open incidents on every target), and a post stored there
    was lost to the real store once back: two stores for one config. A command that only reads reads an empty store
    and makes nothing; `store import` fills a new one (a restore); a store meant to be new is made first (``touch``)."""
    from broadcaster.site.folder import MARKER

    if config.path is None or not (config.output_dir / MARKER).is_file():
        return  # a new project: its first post makes the store, and a build before it shows no incident, rightly
    shown = printable(str(path))
    make = f"mkdir -p {printable(str(path.parent))} && touch {shown}" if not path.parent.is_dir() else f"touch {shown}"
    raise InputError(
        f"{named} {shown}: no such file, and the page in {printable(str(config.output_dir))} was built from a store. A "
        "new, empty store would build it from nothing and drop every incident (and a post stored there would be lost "
        "to the real store once it is back). Nothing was stored or sent, and no store was made. Check the file and its "
        f"disk (moved? renamed? not mounted?) and {named}; to restore it from an export, `broadcaster store import "
        f"FILE`. If you do mean a new, empty store, make it first (`{make}`), then run this again."
    )


def _undigited(name: str) -> str:
    return "".join(c for c in name if not c.isdigit())


def _existing_like(path: Path) -> Path | None:
    """An existing file whose path is a typo away from ``path``: from the deepest folder of it that exists, each
    missing folder (``.broadcastr``, ``prd/data``) and the file's name matched to what is there."""
    import difflib

    parts = path.parts
    found = Path(parts[0]) if path.is_absolute() else Path(".")
    rest = parts[1:] if path.is_absolute() else parts
    while len(rest) > 1 and (found / rest[0]).is_dir():
        found, rest = found / rest[0], rest[1:]
    for index, part in enumerate(rest):
        last = index == len(rest) - 1
        try:
            names = [p.name for p in found.iterdir() if (p.is_file() if last else p.is_dir())]
        except OSError:
            return None
        # A numbered sibling is meant (backups/2026-12-04 beside 2026-12-03, state2.db beside state.db), not a typo.
        close = [n for n in difflib.get_close_matches(part, names, n=3, cutoff=0.8)
                 if n == part or _undigited(n) != _undigited(part)]
        if not close:
            return None
        found = found / close[0]
    return found if found != path and found.is_file() else None


# -- shell completion -------------------------------------------------------------


Completer = Callable[[click.Context, click.Parameter, str], list[Any]]


def _completer(kind: str) -> Completer:
    """Shell completion from the config and the store; silent when either cannot be read."""

    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        try:
            items = _completion_items(ctx, kind, incomplete)
        except Exception:  # noqa: BLE001 - completion must never print a traceback into a shell
            return []
        # Printed to the shell, which zsh and fish draw as they are, one line a field: a value or title from the
        # config or the store is shown escaped and on one line (an escape sequence would drive the terminal).
        return [CompletionItem(printable(value, one_line=True), help=printable(help_text, one_line=True) or None)
                for value, help_text in items if value.startswith(incomplete)]

    return complete


def _completion_items(ctx: click.Context, kind: str, incomplete: str) -> list[tuple[str, str]]:
    config = load_config(ctx)
    if kind == "incident":
        return _incidents_for_completion(ctx, config)
    if kind == "component":
        from broadcaster.messages.model import ComponentStatus

        head, sep, _ = incomplete.partition("=")
        return ([(f"{head}={s.value}", "") for s in ComponentStatus] if sep
                else [(c.component.id, c.component.name) for c in config.components])
    if kind == "destination":
        return [(name, "") for name in config.destination_names]
    if kind == "audience":
        return [(key, table.audience.name) for key, table in config.audience_tables.items()]
    if kind in ("status", "impact"):
        from broadcaster.messages.model import Impact, Status

        return [(value.value, "") for value in (Status if kind == "status" else Impact)]
    return [(name, str(t.get("title", ""))) for name, t in config.templates.items()]


def _embedded_file(location: object) -> Path | None:
    """The SQLite file a store location names (a path, or ``sqlite:///PATH``, written or in a variable); None for a
    server."""
    if hasattr(location, "reveal"):
        # [store] url = "${STORE_URL}" naming a file: taken for a server, it was opened with none of the checks of a
        # state file (one the command may not write was written by root, and failed every reading command).
        from broadcaster.errors import ConfigError

        try:
            location = location.reveal()
        except ConfigError:
            return None  # its variable unset or empty: said by the opening, in its own words
    # As ``store.open_store`` reads it (stripped; ``~`` the home folder, as ``store_location`` reads every sqlite:///
    # URL), or the checks look at another file than the one opened: " sqlite:///states.db" was checked as no file at
    # all (review 35f).
    text = location.strip() if isinstance(location, str) else ""
    if isinstance(location, Path):
        return location
    return Path(text.removeprefix("sqlite:///")).expanduser() if text.startswith("sqlite:///") else None


def _incidents_for_completion(ctx: click.Context, config: Config) -> list[tuple[str, str]]:
    """Incident ids from the store this command would use (``--store``, ``[store] url``, the file);
    an embedded file that does not exist yet is not created by pressing Tab."""
    from broadcaster.store import open_store as _open
    from broadcaster.store import store_location

    location = store_location(config, store_override(ctx))
    path = _embedded_file(location)
    if path is not None and not path.is_file():
        return []
    from broadcaster.store.read_only import CopiedStore, why_unwritable

    # A state file Tab may not write (a snapshot) is read from a copy, as `list` reads it: opened in place, it failed.
    store = CopiedStore(path) if path is not None and why_unwritable(path) else _open(location)
    try:
        return [(i.id, i.title) for i in store.list_incidents(limit=200)]
    finally:
        store.close()


complete_incident = _completer("incident")
complete_template = _completer("template")
complete_component = _completer("component")
complete_status = _completer("status")
complete_impact = _completer("impact")
complete_audience = _completer("audience")


# -- options of the commands that publish ---------------------------------------------


Decorator = Callable[[Any], Any]  # a click.option(...): what it decorates comes back with one more parameter


def apply_options(command: F, options: list[Decorator]) -> F:
    """``command`` with ``options`` (click decorators), the first listed shown first in its help."""
    for option in reversed(options):
        command = option(command)
    return command


def _destination_options() -> list[Decorator]:
    return [
        click.option("--only", "only", multiple=True, metavar="NAMES", shell_complete=_completer("destination"),
                     help="Send only to these destinations (comma-separated; `site` is the page)."),
        click.option("--skip", "skip", multiple=True, metavar="NAMES", shell_complete=_completer("destination"),
                     help="Do not send to these destinations."),
        click.option("--widen", is_flag=True,
                     help="Also send where this incident has not gone: wider than its earlier updates, which "
                          "--only/--skip kept to narrower readers (by default a follow-up goes no wider)."),
    ]


def _json_option() -> Decorator:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable format, see README).")


def publish_options(command: F) -> F:
    """The options every publishing command has: destinations, dry run, JSON, confirmation."""
    return apply_options(command, [
        *_destination_options(),
        click.option("--dry-run", is_flag=True, help="Render every destination; store and send nothing."),
        _json_option(),
        click.option("--yes", "-y", is_flag=True, help="Publish without asking for confirmation."),
    ])


def preview_options(command: F) -> F:
    """``publish_options`` with ``--dry-run`` and ``--yes`` hidden: a preview is a dry run and publishes nothing to
    confirm, so its help does not offer them; a script that passes them still gets its preview (they change nothing)."""
    return apply_options(command, [
        *_destination_options(),
        click.option("--dry-run", is_flag=True, hidden=True),
        _json_option(),
        click.option("--yes", "-y", is_flag=True, hidden=True),
    ])


def _one_value(param: click.Parameter, values: tuple[str, ...], shown: Callable[[str], str] = repr,
               fix: str = "Give it once.") -> str | None:
    """The one value of an option said once (``multiple=True`` collects them all), or a ``click.BadParameter``
    naming each: click kept the last silently, and an edited command line recalled from history then posts to
    another incident, with another status, or loses the first note. The same value again is the same thing said."""
    distinct = tuple(dict.fromkeys(values))
    if len(distinct) > 1:
        raise click.BadParameter(f"given {len(values)} times ({', '.join(map(shown, distinct))}): which is meant? "
                                 f"{fix} Nothing was stored or sent.", param=param)
    return distinct[0] if distinct else None


def refusing_options_as_values(command: click.Command) -> None:
    """``command`` (and each of a group's commands) refusing a value that is one of its options, or of the commands
    it is under: `--title --dry-run "..."` (a title forgotten, or ``$TITLE`` unset) took "--dry-run" for the title
    and posted for real, where a dry run was asked for (review 35c); ``--private``, ``--for ID`` and ``--ticket``
    alike. Checked once every option is read, before the command runs: exit 2, nothing stored or sent."""
    if isinstance(command, click.Group):
        for each in command.commands.values():
            refusing_options_as_values(each)
    callback = command.callback
    if callback is None or getattr(callback, "refuses_options_as_values", False):
        return

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _refuse_options_as_values(click.get_current_context())
        return callback(*args, **kwargs)

    checked.refuses_options_as_values = True  # type: ignore[attr-defined]
    command.callback = checked


def _refuse_options_as_values(ctx: click.Context) -> None:
    for param in ctx.command.params:
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            for value in _strings(ctx.params.get(param.name or "")):
                _refuse_an_option_name(ctx, param, value)


_STRIPPED_TEXTS = frozenset({"title", "private", "for_detail", "tickets", "reason"})  # options whose text is stripped


def _refuse_an_option_name(ctx: click.Context, param: click.Parameter, value: str, *, any_long: bool = False) -> None:
    """``click.BadParameter`` if ``value`` reads as an option of ``ctx``'s command or of a command it is under: one
    of them, with ``=VALUE`` or not; one of their short ones with its value attached (``-p"note"``: `--title
    -p"note"` put the note in the public title, review 35d), unless a space before it says it is meant (`--title
    " -php errors"`: the title is stripped); the end of the options, ``--`` (`--title $T -- "$MSG"` with T unset).
    ``any_long``: anything beginning with "--" (a value no file or URL has)."""
    names = {name for each in _contexts(ctx) for option in each.command.params if isinstance(option, click.Option)
             for name in (*option.opts, *option.secondary_opts)}.union(ctx.help_option_names)
    stripped = value.strip()
    attached = len(value) > 2 and value[1].isalpha() and not value.startswith("--") and value[:2] in names
    if not (stripped.split("=", 1)[0] in names or attached or stripped == "--"
            or (any_long and stripped.startswith("--"))):
        return
    # A store's value is never shown: it may be a connection string holding a password (review 35e). The way out, a
    # space before the value, only for texts, which are stripped (an id, a path or a URL is not: review 35f).
    shown = "(not shown: it may hold a password)" if param.name == "store" else repr(value)
    meant = (f" If you do mean a text beginning with {value[:2]}, put a space before it: ' {value}'."
             if attached and param.name in _STRIPPED_TEXTS else "")
    raise click.BadParameter(
        f"its value {shown} reads as an option: the value before it is missing (an unset shell variable?). Give it, "
        f"quoted, right after {param.opts[0]}{' and its first value' if param.nargs > 1 else ''}, as a separate "
        f"word.{meant} Nothing was stored or sent.", ctx=ctx, param=param)


def _contexts(ctx: click.Context | None) -> Iterator[click.Context]:
    while ctx is not None:
        yield ctx
        ctx = ctx.parent


def _strings(value: object) -> Iterator[str]:
    """Every text of an option's value (``multiple=True`` and ``nargs=2`` give tuples, of tuples)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list)):
        for each in value:
            yield from _strings(each)


def once(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """Callback of an option said once, declared ``multiple=True``: its value, or None when not given. An empty one
    is refused, never read as not given: `-s "$STATUS"` unset left the incident open, `--impact "$IMPACT"` posted
    a critical outage as minor (review 35c)."""
    value = _one_value(param, values)
    return _refuse_empty(ctx, param, value, "a value") if isinstance(value, str) else value


# What an option or argument left empty most likely is: `-i "$ID"`, `--skip "$DOWN"`, `--customer "$CUST"` with the
# variable unset. Read as not given, it opened a second incident, published where it was meant not to, or told a
# customer nothing (review 20d): refused instead, as `--config ""` and `-C api=` are.
EMPTY = "is empty (an unset shell variable?)"


def once_id(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """``once`` for ``--incident``/``-i``: an empty id is refused, never read as "a new incident"."""
    value = _one_value(param, values)
    if value is not None and not value.strip():
        raise click.BadParameter(f"{EMPTY}: give the incident's id (`broadcaster list` shows them), or leave -i out "
                                 "for a new incident. Nothing was stored or sent.", ctx=ctx, param=param)
    return value


def an_incident_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of an INCIDENT argument: an empty one is refused, never read as none given (``retry ""`` would retry
    every incident) nor passed on to be told it needs a --title."""
    if value is not None and not value.strip():
        raise click.BadParameter(f"{EMPTY}: there is no incident {value!r}. Give the incident's id (`broadcaster "
                                 "list` shows them). Nothing was stored or sent.", ctx=ctx, param=param)
    return value


def each_given(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Callback of a repeatable option (``--customer``, ``--ticket``): an empty value is refused, never dropped."""
    if any(not value.strip() for value in values):
        what = "an [audiences.ID] id" if param.name == "customers" else "the reference"
        raise click.BadParameter(f"{EMPTY}: give {what}, or leave the option out. Nothing was stored or sent.",
                                 ctx=ctx, param=param)
    return values


def once_text(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str:
    """``once`` for a text whose absence is "" (``--private``, ``--reason``): two notes meant both go into one, and
    one given empty (``-p "$NOTE"`` with NOTE unset) is refused, never dropped without a word."""
    value = _one_value(param, values, fix="Give it once, with both texts in it if both are meant.")
    return _refuse_empty(ctx, param, value, "the text") if value is not None else ""


def _refuse_empty(ctx: click.Context, param: click.Parameter, value: str, what: str) -> str:
    """``value``, or ``click.BadParameter`` if it is empty (``EMPTY``): never read as not given."""
    if not value.strip():
        raise click.BadParameter(f"{EMPTY}: give {what}, or leave {param.opts[0]} out. Nothing was stored or sent.",
                                 ctx=ctx, param=param)
    return value


def private_option(help_text: str) -> Callable[[F], F]:
    """``--private``/``-p``, said once: a second note would otherwise replace the first without a word."""
    return click.option("--private", "-p", "private", multiple=True, callback=once_text, metavar="TEXT", help=help_text)


def _message_option_list(*, closes: bool) -> list[Decorator]:
    # An update that closes the incident takes no --etr or --next-update (compose refuses them, saying why);
    # `resolve` still parses them, hidden, so a script passing them meets that reason, not "no such option".
    return [
        private_option("Internal detail: only internal channels see it."),
        click.option("--customer", "customers", multiple=True, callback=each_given, metavar="ID",
                     shell_complete=complete_audience, help="Affected customer: an [audiences.ID] id; its channels are told (repeatable)."),
        click.option("--for", "for_detail", multiple=True, nargs=2, metavar="ID TEXT", shell_complete=complete_audience,
                     help="Detail only customer ID's channels (and internal ones) see (repeatable)."),
        click.option("--ticket", "tickets", multiple=True, callback=each_given, metavar="REF", help="Ticket reference (private; repeatable)."),
        click.option("--etr", metavar="WHEN", multiple=True, callback=once, hidden=closes,
                     help="Estimated time to restore: 30m, 2h, 15:30 or ISO time."),
        click.option("--next-update", "next_update", metavar="WHEN", multiple=True, callback=once, hidden=closes,
                     help="When the next update is promised: 30m, 2h, 15:30 or ISO time."),
        click.option("--component", "-C", "components", multiple=True, metavar="ID[=STATUS]", shell_complete=complete_component,
                     help="Affected component, optionally with its status (repeatable)."),
    ]


def message_options(command: F) -> F:
    """Private detail, times and components of an update, plus the publishing options."""
    return publish_options(apply_options(command, _message_option_list(closes=False)))


def closing_message_options(command: F) -> F:
    """``message_options`` of ``resolve``: no --etr or --next-update offered (nothing is restored or promised after)."""
    return publish_options(apply_options(command, _message_option_list(closes=True)))


def preview_message_options(command: F) -> F:
    """``message_options`` of ``preview``: ``preview_options`` in place of ``publish_options``."""
    return preview_options(apply_options(command, _message_option_list(closes=False)))


def template_options(command: F) -> F:
    """``--template NAME --set key=value`` (post and preview)."""
    return apply_options(command, [
        click.option("--template", "template", multiple=True, callback=once, metavar="NAME",
                     shell_complete=complete_template, help="Start from [templates.NAME] (see `broadcaster templates`)."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A value for a template placeholder (repeatable)."),
    ])
