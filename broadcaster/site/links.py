"""Where the site puts things readers follow a link to; cheap to import (no templates, no builder)."""

from __future__ import annotations

from broadcaster.config import Config


def incident_url(config: Config, incident_id: str) -> str:
    """The absolute address of an incident's page, or "" when ``[page] base_url`` is not set."""
    return f"{config.page.base_url}incidents/{incident_id}.html" if config.page.base_url else ""
