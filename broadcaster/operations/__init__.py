"""What each command does, callable without click: the CLI only parses and prints.

post:   config -> draft -> (incident, update) -> plan -> store (outbox) -> deliver -> outcomes  (``posting``)
retry:  store -> deliveries not yet sent -> deliver -> outcomes                                 (``retrying``)
site:   store -> full build -> upload to every publish target                                   (``site``)
checks: every channel and publish target verified, nothing posted                               (``checks``)
withdraw: store -> withdrawal update (outbox) -> site rebuilt without it, posts deleted or noted   (``withdrawing``)

The rest of an incident's life (corrections, postmortems, maintenance, tick) is
``broadcaster.lifecycle``, built on ``publish`` here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broadcaster.operations.checks import check_destinations, shared_targets
    from broadcaster.operations.posting import (
        PostResult,
        Preview,
        again_on_conflict,
        delivery_plan,
        find_incident,
        incident_to_post_to,
        post,
        prepare,
        previews,
        publish,
        publish_stored,
        refuse_missing_secrets,
        refuse_unowned_folders,
        refuse_withdrawn,
        stale_site_deliveries,
        with_template,
    )
    from broadcaster.operations.retrying import (
        RetryResult,
        mark_unknown_sent,
        reap,
        retry,
        retry_todo,
        waiting_elsewhere,
    )
    from broadcaster.operations.site import HostUpload, SitePublication, publish_site, rebuild_site
    from broadcaster.operations.withdrawing import WithdrawResult, withdraw

# Each name's module, imported when the name is first used: a post loads ``posting`` (and what it needs), not the
# retry's, the site command's or the withdrawal's modules (about 5 ms of every command's start-up).
_MODULE_OF = {
    "check_destinations": "checks", "shared_targets": "checks",
    **dict.fromkeys(("PostResult", "Preview", "again_on_conflict", "delivery_plan", "find_incident",
                     "incident_to_post_to", "post", "prepare", "previews", "publish", "publish_stored",
                     "refuse_missing_secrets", "refuse_unowned_folders", "refuse_withdrawn", "stale_site_deliveries",
                     "with_template"), "posting"),
    **dict.fromkeys(("RetryResult", "mark_unknown_sent", "reap", "retry", "retry_todo", "waiting_elsewhere"),
                    "retrying"),
    **dict.fromkeys(("HostUpload", "SitePublication", "publish_site", "rebuild_site"), "site"),
    "WithdrawResult": "withdrawing", "withdraw": "withdrawing",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "HostUpload", "PostResult", "Preview", "RetryResult", "SitePublication", "again_on_conflict", "check_destinations",
    "delivery_plan", "find_incident", "incident_to_post_to", "mark_unknown_sent", "post", "prepare", "previews", "publish", "publish_site",
    "publish_stored", "reap", "rebuild_site", "refuse_missing_secrets", "refuse_unowned_folders", "retry", "retry_todo", "waiting_elsewhere",
    "refuse_withdrawn", "shared_targets", "stale_site_deliveries", "with_template", "WithdrawResult", "withdraw",
]
