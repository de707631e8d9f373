"""Every place an update can go, by the name operators use for it.

``site`` (the built-in page and feed builder), each ``[publish.NAME]`` target
(uploads what ``site`` built) and each ``[channels.NAME]``. This module decides
which of them an update is for (``--only``/``--skip``, component subscriptions)
and builds their delivery plan; it imports no SDK.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from broadcaster.config import SITE_DESTINATION, ChannelConfig, Config
from broadcaster.errors import InputError
from broadcaster.registry import load_channel_class
from broadcaster.store import PlannedDelivery

if TYPE_CHECKING:
    from broadcaster.channels.base import Channel
    from broadcaster.site.hosts import SiteHost


@dataclass
class Destination:
    """One named destination. ``kind`` is ``site``, ``host`` or ``channel``."""

    name: str
    kind: str
    visibility: str
    config: ChannelConfig | None
    base_dir: object = None

    @property
    def idempotent(self) -> bool:
        """Sending again shows nothing twice: the site is rebuilt and uploaded whole, posts are not."""
        return self.kind != "channel"

    @property
    def ordered(self) -> bool:
        """Channels thread follow-ups, so updates must arrive in order; the site shows all at once."""
        return self.kind == "channel"

    @cached_property
    def channel(self) -> Channel:
        assert self.config is not None and self.kind == "channel"
        return load_channel_class(self.config.type)(self.config)

    @cached_property
    def host(self) -> SiteHost:
        from pathlib import Path

        from broadcaster.registry import load_host_class

        assert self.config is not None and self.kind == "host"
        return load_host_class(self.config.type)(self.config, Path(str(self.base_dir)))

    def targets(self) -> tuple[str, ...]:
        return self.channel.targets() if self.kind == "channel" else ("",)

    @cached_property
    def target_set(self) -> frozenset[str]:
        """The targets as a set, read once: a check per delivery of a 1,000-chat channel must not re-parse them."""
        return frozenset(self.targets())

    def wants(self, component_ids: set[str]) -> bool:
        return self.config is None or self.config.wants(component_ids)


def destinations(config: Config) -> dict[str, Destination]:
    """All destinations in the order they are shown: site, publish targets, channels."""
    result = {SITE_DESTINATION: Destination(SITE_DESTINATION, "site", "public", None)}
    for name, table in config.publish.items():
        result[name] = Destination(name, "host", "public", table, config.base_dir)
    for name, table in config.channels.items():
        result[name] = Destination(name, "channel", table.visibility, table)
    return result


def check_names(names: Sequence[str], known: Sequence[str], option: str) -> set[str]:
    """Split comma lists and refuse unknown names, suggesting the closest one."""
    result = set()
    for chunk in names:
        for name in (n.strip() for n in chunk.split(",")):
            if not name:
                continue
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InputError(f"{option}: no destination named {name!r}.{hint} Destinations: {', '.join(known)}.")
            result.add(name)
    return result


def plan(
    all_destinations: dict[str, Destination],
    component_ids: set[str],
    *,
    only: set[str] | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
    private_only: bool = False,
) -> list[PlannedDelivery]:
    """One planned delivery per destination and target; filtered ones are ``skipped`` with the reason.

    ``private_only`` (notices such as an overdue update or an SLA breach) skips
    every public destination, the site included.
    """
    planned = []
    for name, destination in all_destinations.items():
        state, reason = "pending", ""
        if private_only and destination.visibility != "private":
            state, reason = "skipped", "private notice"
        elif only is not None and name not in only:
            state, reason = "skipped", "not in --only"
        elif name in skip:
            state, reason = "skipped", "--skip"
        elif not destination.wants(component_ids):
            subscribed = ", ".join(destination.config.components) if destination.config else ""
            state, reason = "skipped", f"subscribed only to {subscribed}"
        for target in destination.targets():
            planned.append(PlannedDelivery(name, target, destination.visibility, state, reason))
    return planned
