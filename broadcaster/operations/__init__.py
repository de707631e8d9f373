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
from broadcaster.operations.retrying import RetryResult, mark_unknown_sent, reap, retry, retry_todo, waiting_elsewhere
from broadcaster.operations.site import HostUpload, SitePublication, publish_site, rebuild_site
from broadcaster.operations.withdrawing import WithdrawResult, withdraw

__all__ = [
    "HostUpload", "PostResult", "Preview", "RetryResult", "SitePublication", "again_on_conflict", "check_destinations",
    "delivery_plan", "find_incident", "incident_to_post_to", "mark_unknown_sent", "post", "prepare", "previews", "publish", "publish_site",
    "publish_stored", "reap", "rebuild_site", "refuse_missing_secrets", "refuse_unowned_folders", "retry", "retry_todo", "waiting_elsewhere",
    "refuse_withdrawn", "shared_targets", "stale_site_deliveries", "with_template", "WithdrawResult", "withdraw",
]
