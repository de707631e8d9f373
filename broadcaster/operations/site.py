"""The site as a whole: a full build from the store, and its upload to every publish target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from broadcaster.config import Config
from broadcaster.store import Store

if TYPE_CHECKING:
    from broadcaster.site.hosts import BuiltSite


def rebuild_site(config: Config, store: Store) -> BuiltSite:
    """A full build of the site from the whole store (``broadcaster site build``).

    Raises ``ConfigError`` when the output folder is not broadcaster's, and a
    permanent ``DeliveryError`` when it cannot be written (read-only, full), as
    a post's site delivery says it; incidents that cannot be shown are left out
    and named in ``BuiltSite.problems``.
    """
    return _rebuild(config, store, uploads=())


def _rebuild(config: Config, store: Store, uploads: Sequence[str]) -> BuiltSite:
    from broadcaster.config import SITE_DESTINATION
    from broadcaster.errors import ConfigError, DeliveryError
    from broadcaster.operations.posting import secrets_unset
    from broadcaster.site.source import rebuild

    # The build's (customers' feed tokens), named by their keys as a post names them: the build's own error named
    # the variable alone. A target's own are its upload's to refuse: the other targets still get the site.
    missing = config.missing_secrets({SITE_DESTINATION})
    if missing:
        raise ConfigError(f"{secrets_unset(missing)}. "
                          f"Export them and run the command again. Nothing was built{' or uploaded' if uploads else ''}.")
    try:
        return rebuild(config, store)
    except OSError as exc:
        # Its strerror alone: the file's name may be a customer's page, whose path is a capability.
        held_back = f" Nothing was uploaded to {', '.join(uploads)}." if uploads else ""
        raise DeliveryError(
            f"cannot write the site to {config.output_dir}: {exc.strerror or type(exc).__name__}.{held_back} "
            "Check [page] output_dir, its permissions and the free space on its disk, then run the command again.",
            retryable=False,
        ) from exc


@dataclass(frozen=True)
class HostUpload:
    """One publish target's upload: where it now serves the site, or why it failed."""

    name: str
    remote_id: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class SitePublication:
    built: BuiltSite
    uploads: list[HostUpload]

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.uploads) and not self.built.problems


def publish_site(config: Config, store: Store, *, replace_later: bool = False) -> SitePublication:
    """``site publish``: a full build, then an upload to every ``[publish.NAME]`` target, one by one.

    A target that fails is reported and the others still get the site. ``replace_later``: a target's site
    built from a later state of this store (the store was restored from a backup) is replaced.
    """
    import asyncio

    from broadcaster.destinations import publish_targets
    from broadcaster.errors import ConfigError, DeliveryError
    from broadcaster.operations.posting import secrets_unset

    targets = publish_targets(config)
    # A target's own secrets unset fail that target alone, said before its turn: read at its upload, the
    # ConfigError ended the command there (exit 2), so the targets after it never got the site, and those
    # before it had it while the command said nothing of them.
    missing = {t.name: config.missing_secrets({t.name}) for t in targets}
    ready = [t for t in targets if not missing[t.name]]
    for target in ready:
        target.host.warm_up()  # a client and a read of the remote while the site builds
    built = replace(_rebuild(config, store, uploads=[t.name for t in ready]), replace_later=replace_later)
    uploads = []
    for target in targets:
        if missing[target.name]:
            uploads.append(HostUpload(target.name, error=(
                f"not uploaded: {secrets_unset(missing[target.name])}. "
                "Export them and run `broadcaster site publish` again.")))
            continue
        try:
            receipt = asyncio.run(target.publish(store, built, wait=config.engine.deadline))
            uploads.append(HostUpload(target.name, remote_id=receipt.remote_id))
        except (DeliveryError, ConfigError) as exc:
            uploads.append(HostUpload(target.name, error=str(exc)))
    return SitePublication(built, uploads)
