"""Whether the site's output folder is broadcaster's: checked before anything is stored.

Apart from ``site.source`` so that a preview or a post's preflight checks the folder
without importing the site builder (jinja2, the feeds, the calendar): about a fifth
of a dry run's time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.config import Config
from broadcaster.site.folder import (
    MARKER,
    FolderRefused,
    another_folder,
    in_the_way,
    inspect,
    is_plain_file,
    mark,
    refuse_holding,
    refuse_state_on_top,
)
from broadcaster.site.output import INTERNAL, site_files

if TYPE_CHECKING:
    from broadcaster.store import Store


STORE = "the store"


def keep_out(config: Config, store: Store | None) -> list[tuple[str, Path | None]]:
    """What the output folder must never hold: it would be published."""
    return [
        ("the config file", config.path),
        (STORE, getattr(store, "path", None) or (None if config.store.url else config.store_path)),
        ("broadcaster's state folder", config.base_dir / ".broadcaster"),
    ]


def claim_folder(config: Config, store: Store | None) -> None:
    """Make sure the output folder is broadcaster's (marking a new or empty one); ``FolderRefused`` if not."""
    folder = config.output_dir
    _check_folder(config, store)
    if not is_plain_file(folder / MARKER):  # new, empty, built before the marker existed, or a link put there
        mark(folder)


def refuse_unowned_folder(config: Config, store: Store | None) -> None:
    """Before anything is stored: refuse an output folder that is not broadcaster's. Changes nothing."""
    try:
        _check_folder(config, store)
    except FolderRefused as exc:
        raise FolderRefused(f"{exc} Nothing was stored or sent.") from exc


def _check_folder(config: Config, store: Store | None) -> None:
    folder = config.output_dir
    refuse_holding(folder, keep_out(config, store), "[page] output_dir")
    refuse_state_on_top(folder, "[page] output_dir")
    blocker = in_the_way(folder)
    if blocker is not None and blocker != folder:  # the folder itself a file: "not-a-folder" below
        raise FolderRefused(
            f"[page] output_dir ({folder}) cannot be made: {blocker} is a file, not a folder, so nothing can be "
            f'inside it. Point output_dir at a folder of its own, e.g. "{another_folder(folder)}", or move {blocker} aside.'
        )
    state = inspect(folder, INTERNAL, _listed_in_manifest(folder))
    if state.kind == "not-a-folder":
        raise FolderRefused(
            f"[page] output_dir ({folder}) is a file, not a folder. Point output_dir at a folder of its own, "
            f'e.g. "{another_folder(folder)}".'
        )
    if state.kind == "foreign" and state.unreadable:
        raise FolderRefused(
            f"[page] output_dir ({folder}) holds folders you cannot list ({state.describe()}): broadcaster cannot "
            "tell what is in them, and the site's folder must be its own. Make them readable by the account that "
            f'runs broadcaster, or point output_dir at a new or empty folder, e.g. "{another_folder(folder)}".'
        )
    if state.kind == "foreign":
        raise FolderRefused(
            f"[page] output_dir ({folder}) holds files broadcaster did not write ({state.describe()}). "
            "The site's folder must be its own: a build would mix them into the site and a publish "
            f'would upload them. Point output_dir at a new or empty folder, e.g. "{another_folder(folder)}", or move '
            "those files out."
        )


def _listed_in_manifest(folder: Path) -> Callable[[str], bool]:
    """Whether a file is one the folder's manifest lists; the manifest is read only if asked
    (a folder built before the marker existed)."""
    listed: set[str] | None = None

    def accept(path: str) -> bool:
        nonlocal listed
        if listed is None:
            listed = set(site_files(folder))
        return path in listed

    return accept
