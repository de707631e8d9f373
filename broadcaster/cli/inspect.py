"""Commands that read or tend what is already there: list, show, channels check, site, init."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.cli.options import common, complete_audience, complete_incident, load_config, once, open_store
from broadcaster.errors import InputError

# -- list / show ----------------------------------------------------------------


@click.command("list")
@click.option("--limit", default=30, show_default=True, help="How many incidents to show.")
@click.option("--customer", "customer", multiple=True, callback=once, metavar="ID", shell_complete=complete_audience, help="Only incidents this [audiences.ID] customer is told about.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def list_(ctx: click.Context, /, limit: int, customer: str | None, as_json: bool) -> None:
    """Incidents: open ones first, then the most recent."""
    from broadcaster.cli import output
    from broadcaster.operations.listing import list_incidents

    audience = load_config(ctx).require_audience(customer, "--customer", reading=True) if customer is not None else None
    output.print_list(list_incidents(open_store(ctx, reads=True), limit=limit, audience=audience), as_json=as_json)


@click.command()
@click.argument("incident_id", metavar="ID", shell_complete=complete_incident)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def show(ctx: click.Context, /, incident_id: str, as_json: bool) -> None:
    """An incident's timeline and the delivery state of every destination."""
    from broadcaster.cli import output
    from broadcaster.operations.listing import incident_record

    config = load_config(ctx)
    output.print_incident(config, incident_record(config, open_store(ctx, reads=True), incident_id), as_json=as_json)


# -- channels -------------------------------------------------------------------


@click.group()
def channels() -> None:
    """Inspect the configured channels."""


@channels.command("check")
@common
@click.pass_context
def channels_check(ctx: click.Context) -> None:
    """Verify every channel and publish target without posting anything."""
    from broadcaster import operations
    from broadcaster.cli import output

    config = load_config(ctx)
    results = operations.check_destinations(config)
    output.print_checks(results, config.secret_values())
    if not all(r.ok for r in results):
        ctx.exit(EXIT_DELIVERY)


# -- site -----------------------------------------------------------------------


@click.group()
def site() -> None:
    """Build, publish and preview the status page."""


@site.command("build")
@common
@click.pass_context
def site_build(ctx: click.Context) -> None:
    """Rebuild the whole site from the store into [page] output_dir."""
    from broadcaster import operations
    from broadcaster.cli import output

    config = load_config(ctx)
    with _telling_lock_waits():
        built = operations.rebuild_site(config, open_store(ctx))
    click.echo(f"Built {len(built.hashes)} files into {config.output_dir}. Open {config.output_dir / 'index.html'}")
    if built.problems:
        output.print_left_out(built.problems, config.secret_values())
        ctx.exit(EXIT_DELIVERY)


@site.command("publish")
@click.option("--replace-later", is_flag=True,
              help="Replace a site a target holds that was built from a later state of this store (after restoring "
                   "the state file from a backup: what was stored after the backup leaves the page).")
@common
@click.pass_context
def site_publish(ctx: click.Context, /, replace_later: bool) -> None:
    """Rebuild the site and upload it to every [publish.NAME] target."""
    from broadcaster import operations
    from broadcaster.cli import output

    config = load_config(ctx)
    with _telling_lock_waits():
        published = operations.publish_site(config, open_store(ctx), replace_later=replace_later)
    output.print_site_publication(config, published)
    if not published.ok:
        ctx.exit(EXIT_DELIVERY)


def _telling_lock_waits() -> AbstractContextManager[None]:
    """Say so once when the build has to wait for another process's site lock: it waits as long as it
    takes, and a silent wait looks like a hang."""
    from broadcaster.site.source import telling_waits

    return telling_waits(lambda lock: click.echo(
        f"Waiting for the site folder's lock ({lock}): another process holds it, most likely another "
        "`broadcaster` command building the site, or a `site build` suspended with Ctrl-Z (resume it with "
        "`fg`). The build goes on once it is free; Ctrl-C stops waiting.", err=True))


@site.command("serve")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@common
@click.pass_context
def site_serve(ctx: click.Context, /, port: int, host: str) -> None:
    """Serve [page] output_dir on localhost for a preview."""
    from broadcaster.site.serve import serve

    config = load_config(ctx)
    serve(config.output_dir, host, port, lambda url: click.echo(f"Serving {config.output_dir} at {url} (Ctrl-C to stop)"))


# -- init -------------------------------------------------------------------------

STATE_FOLDER = ".broadcaster"  # beside each config: its state file, locks and caches (any folder so named is one)


@click.command()
@click.argument("given", metavar="[PATH]", required=False, type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@common
@click.pass_context
def init(ctx: click.Context, /, given: str | None, force: bool) -> None:
    """Write a commented starter config to PATH (a folder: its broadcaster.toml; default: --config, then
    $BROADCASTER_CONFIG, then ./broadcaster.toml: where the other commands will read it)."""
    from importlib.resources import files

    from broadcaster.site.file_writer import replace_file
    from broadcaster.store.sqlite import PRIVATE_FOLDER, keep_out_of_git

    if given is not None and not given.strip():
        # `broadcaster init "$CONFIG"` with CONFIG unset: written to ./broadcaster.toml (or --config's), said done.
        raise InputError("the config's path is empty or only spaces (a variable unset in a script?). Give the file or "
                         "folder to write it to (`broadcaster init ops/`), or no path at all for the default "
                         "(--config, then $BROADCASTER_CONFIG, then ./broadcaster.toml). Nothing was written.")
    path = _in_folder(given) if given else _config_to_write(ctx)
    _refuse_writing_into_the_state(path)
    if path.is_symlink():
        # --force would write through it, into whatever file it names (or fail on a dangling one).
        raise InputError(f"{_shown(path)} is a symbolic link; write the config to a real path, or remove the link first.")
    if path.exists() and not force:
        raise InputError(f"{_shown(path)} already exists; nothing was written. `--force` replaces it with the starter "
                         "config (no channels), keeping the file it replaces beside it as a .bak.")
    if path.exists() and not path.is_file():
        raise InputError(f"{_shown(path)} is not a file; give the path of the config file to write.")
    _refuse_writing_into_a_site(path)
    state = path.parent / STATE_FOLDER  # the state, locks and caches, out of git from the start
    if state.exists() and not state.is_dir():
        raise InputError(f"{_shown(state)} is a file, where broadcaster keeps its state folder; move it away first. "
                         "Nothing was written.")
    starter = files("broadcaster").joinpath("starter.toml").read_bytes()
    # The state folder first: failing after the config was replaced, the command said only what failed, and the
    # operator was not told the config was now the starter, nor where the one it replaced was kept.
    with _writing(path, "nothing was written"):
        path.parent.mkdir(parents=True, exist_ok=True)
        state.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        keep_out_of_git(state)
        kept = _keep_replaced(path, starter)
    with _writing(path, f"{_shown(path)} is as it was" + (f"; a copy of it was kept as {_shown(kept)}" if kept else "")):
        replace_file(path, starter, mode=0o644)
    # What a plain command here reads: $BROADCASTER_CONFIG, else ./broadcaster.toml; anything else needs --config.
    from broadcaster.config_loader import CONFIG_ENV, DEFAULT_NAME

    found_here = path.resolve() == Path(os.environ.get(CONFIG_ENV) or DEFAULT_NAME).resolve()
    config = "" if found_here else f" --config {_shell_word(_not_an_option(path))}"
    if kept:
        click.echo(f"Kept the config it replaced as {_shown(kept)}.")
    click.echo(f"Wrote {_shown(path)}. Edit it, then: broadcaster{config} post --title 'API errors' "
               "'Investigating elevated errors.'")


@contextmanager
def _writing(path: Path, consequence: str) -> Iterator[None]:
    """A refusal (exit 2) saying what the system refused and what was left, for a failure to write beside
    ``path``: a read-only folder, a state folder of another user's, a full disk. It was 'unexpected error
    (PermissionError)', exit 1, with no word of what was kept."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = _shown(Path(exc.filename)) if exc.filename else _shown(path.parent)
        raise InputError(f"could not write {where}: {reason}; {consequence}. Write the config where you may write "
                         "(another folder, or as the folder's owner), or free the space.") from exc


def _not_an_option(path: Path) -> str:
    """A relative path beginning with "-" as ``./-...``: `--config --x/broadcaster.toml`, printed as the command to
    run next, was refused as an option where its value should be (``_refuse_an_option_name``)."""
    return f".{os.sep}{path}" if str(path).startswith("-") else str(path)


def _shown(path: Path) -> str:
    """A path as the terminal may show it and the shell read it back: as it is when every character prints,
    else quoted as $'...' with each other character escaped (a right-to-left override, a line break, an escape
    sequence pasted with the name). Escaped inside plain quotes, the shell read the escape's letters as the name."""
    text = str(path)
    return text if text.isprintable() else _shell_word(text)


def _shell_word(text: str) -> str:
    """``text`` as one word the shell reads back as ``text``: ``shlex.quote`` where every character prints, else
    bash's and zsh's $'...' with every other character escaped (a byte no encoding decoded, as that byte)."""
    if text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(_escaped(char) for char in text) + "'"


def _escaped(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for a byte no encoding decoded
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _keep_replaced(path: Path, starter: bytes) -> Path | None:
    """`init --force` over a config the operator wrote: its channels, audiences and components were lost, and every
    later post went to the local page alone. The file it replaces is kept beside it (a free ``NAME.bak``, ``.bak.2``...),
    with its mode: it names secrets' variables, and may hold anything else. Created only where nothing is (``O_EXCL``):
    never over a file made there meanwhile, nor through a link planted under the name."""
    if not path.is_file():
        return None
    held = path.read_bytes()
    if held == starter:
        return None
    mode, number = path.stat().st_mode & 0o777, 1
    while True:
        kept = path.with_name(path.name + (".bak" if number == 1 else f".bak.{number}"))
        try:
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        except FileExistsError:
            number += 1
            continue
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(file.fileno(), mode)  # whatever the umask
                file.write(held)
        except OSError:
            kept.unlink()  # half a copy (a full disk) is no copy: the config itself is left as it was
            raise
        return kept


def _refuse_writing_into_the_state(path: Path) -> None:
    """A config inside a state folder (``init .broadcaster/``: any folder named so is broadcaster's, the store's own)
    or over a state file (``init --force`` over [store] path's): its .gitignore kept the config out of git, and the
    config was lost with the folder (removed, or restored from a backup); over the state file, the store was
    replaced by the starter config. Looked at as typed and with its links followed."""
    from broadcaster.store.sqlite import is_sqlite_file

    try:
        typed, resolved = Path(os.path.abspath(path)), path.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 says a loop of links with RuntimeError: "unexpected error"
        raise InputError(f"{_shown(path)} cannot be followed: a loop of symbolic links on its way ({exc}). Check the "
                         "path, or give another. Nothing was written.") from exc
    # The path itself too: a config file named .broadcaster takes the state folder's place beside it.
    state = next((folder for where in (typed, resolved) for folder in (where, *where.parents)
                  if folder.name.casefold() == STATE_FOLDER), None)
    if state is not None:
        place = f"names {_shown(state)}" if state in (typed, resolved) else f"is inside {_shown(state)}"
        raise InputError(
            f"{_shown(path)} {place}, broadcaster's state folder: it is the store's own (the state "
            "file, its locks and caches, kept out of git), and a config there is lost with it. Write the config "
            f"beside it: `broadcaster init {_shell_word(_not_an_option(Path(os.path.relpath(state.parent))))}"
            f"{os.sep}` (or another folder). Nothing was written.")
    if is_sqlite_file(path):
        raise InputError(
            f"{_shown(path)} is a SQLite database, most likely a store (its [store] path or url): the starter config would "
            "replace what it holds, --force or not. Give the config's own path (a folder writes its broadcaster.toml). "
            "Nothing was written.")


def _refuse_writing_into_a_site(path: Path) -> None:
    """``cd public`` to look at the page, then ``init``: the config and its state would be published with the site."""
    from broadcaster.site.folder import MARKER, site_holding

    folder = path.resolve().parent
    site = site_holding(folder)
    if site is not None:
        where = f"{folder} is" if site == folder else f"{folder} is inside {site},"
        raise InputError(
            f"{where} a site broadcaster builds ({MARKER} is there): the config and its "
            "private state (.broadcaster/) would be published with it. Run `broadcaster init` in the folder beside "
            f"the site (`cd {shlex.quote(str(site.parent))}`). Nothing was written."
        )


def _in_folder(given: str) -> Path:
    """A folder given to ``init`` (``init ops``, as ``git init ops``) is where its ``broadcaster.toml`` goes: click
    said only "'ops' is a directory". A name ending in a slash is a folder, made if need be."""
    from broadcaster.config_loader import DEFAULT_NAME

    path = Path(given)
    if given.endswith(os.sep) and (path.exists() or path.is_symlink()) and not path.is_dir():
        # Made as a folder, it failed as "could not write ...: File exists; ... or free the space".
        what = "a file" if path.exists() else "a symbolic link to nothing"
        raise InputError(f"{_shown(path)} is {what}, not a folder, so no {DEFAULT_NAME} can be written in it. Give "
                         f"a folder (its {DEFAULT_NAME} is written there), or the file's own name without the slash "
                         "to write the config there (with --force over a file). Nothing was written.")
    return path / DEFAULT_NAME if given.endswith(os.sep) or path.is_dir() else path


def _config_to_write(ctx: click.Context) -> Path:
    """Where a plain ``init`` writes: the file the other commands of this invocation would read (a global
    ``--config`` once wrote ./broadcaster.toml, and the next ``--config`` command found no config)."""
    from broadcaster.config_loader import CONFIG_ENV, DEFAULT_NAME

    return Path((ctx.find_root().obj or {}).get("config") or os.environ.get(CONFIG_ENV) or DEFAULT_NAME)


COMMANDS = (list_, show, channels, site, init)
