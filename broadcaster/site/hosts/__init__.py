"""Off-net hosting targets (``[publish.NAME]``): where the built site is uploaded.

One module per ``type``: ``s3``, ``git``, ``directory``. Each holds one
``SiteHost`` subclass. A target uploads what the ``site`` destination built; it
never builds anything itself.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from broadcaster.errors import ConfigError

if TYPE_CHECKING:
    from broadcaster.config import ChannelConfig
    from channels.base import CheckResult, Receipt

HOST_TYPES = {"s3": "S3Host", "git": "GitHost", "directory": "DirectoryHost"}


@dataclass(frozen=True)
class BuiltSite:
    """A finished build in ``root``: every file's relative path and content hash.

    ``order`` lists the files so that readers never see a broken state when
    uploaded in that order: incident pages and assets first, then the index,
    feeds and JSON that link to them.
    """

    root: Path
    hashes: dict[str, str]

    @property
    def order(self) -> list[str]:
        last = {"index.html", "feed.xml", "atom.xml", "summary.json"}
        return sorted(self.hashes, key=lambda p: (p in last, p == "index.html", p))


class SiteHost(ABC):
    """Base of every publish target. Facts as class attributes, I/O in ``publish``."""

    type_name: ClassVar[str]
    required_options: ClassVar[tuple[str, ...]] = ()
    optional_options: ClassVar[tuple[str, ...]] = ()
    secret_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        self.config = config
        self.name = config.name
        self.base_dir = base_dir

    @abstractmethod
    async def publish(self, site: BuiltSite) -> Receipt:
        """Upload what changed in ``site``; raise DeliveryError on failure."""

    async def check(self) -> list[CheckResult]:
        from channels.base import CheckResult

        return [CheckResult(self.name, "", True, "nothing to check")]


def load_host_class(type_name: str) -> type[SiteHost]:
    if type_name not in HOST_TYPES:
        raise ConfigError(f"unknown publish type {type_name!r}; use one of {', '.join(HOST_TYPES)}")
    module = importlib.import_module(f"broadcaster.site.hosts.{type_name}")
    return getattr(module, HOST_TYPES[type_name])
