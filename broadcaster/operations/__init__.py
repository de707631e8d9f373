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
import sys
import types
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
        deletes_to_mark,
        mark_deleted,
        mark_unknown_sent,
        not_marked_deleted,
        reap,
        retry,
        retry_todo,
        waiting_elsewhere,
        with_marked,
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
    **dict.fromkeys(("RetryResult", "deletes_to_mark", "mark_deleted", "mark_unknown_sent", "not_marked_deleted", "reap",
                     "retry", "retry_todo", "waiting_elsewhere", "with_marked"),
                    "retrying"),
    **dict.fromkeys(("HostUpload", "SitePublication", "publish_site", "rebuild_site"), "site"),
    "WithdrawResult": "withdrawing", "withdraw": "withdrawing",
}


class _Package(types.ModuleType):
    """This package: each of its modules, when its import ends (``import`` then sets it on the package), gives the
    package its names (``_MODULE_OF``) as the module defined them, as when the package imported them itself. Looked up
    later, a name first used while a test had patched its module was the patch (`broadcaster retry` listed its targets
    with tests/test_review19_posting.py's claimed_meanwhile) and, kept in the globals, stayed it after the patch."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            for exported in [n for n, module in _MODULE_OF.items() if module == name and n not in globals()]:
                if hasattr(value, exported):
                    globals()[exported] = getattr(value, exported)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    imported = importlib.import_module(f"{__name__}.{module}")  # binds the module's names (``_Package``)
    # Not bound yet only while that module's own import is under way (an import cycle): what it holds so far.
    return globals()[name] if name in globals() else getattr(imported, name)


__all__ = [
    "HostUpload", "PostResult", "Preview", "RetryResult", "SitePublication", "again_on_conflict", "check_destinations",
    "delivery_plan", "find_incident", "incident_to_post_to", "mark_unknown_sent", "post", "prepare", "previews", "publish", "publish_site",
    "publish_stored", "reap", "rebuild_site", "refuse_missing_secrets", "refuse_unowned_folders", "retry", "retry_todo", "waiting_elsewhere",
    "deletes_to_mark", "mark_deleted", "not_marked_deleted", "with_marked",
    "refuse_withdrawn", "shared_targets", "stale_site_deliveries", "with_template", "WithdrawResult", "withdraw",
]
