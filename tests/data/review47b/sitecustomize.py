"""Loaded by the interpreter of a command a test starts with this folder on PYTHONPATH. It changes when, never
what, the command does: ``BROADCASTER_TEST_DIE_BEFORE_SENT`` ends the process at once (as a kill -9 would) as a
delivery whose remote id starts with its value is about to be recorded sent, after the service confirmed the post;
``BROADCASTER_TEST_SLOW_CLAIM``
(seconds) makes each claim take that long (a store under load), so that the command's deadline passes before the
send begins."""

import os
import time
from typing import Any

if os.environ.get("BROADCASTER_TEST_DIE_BEFORE_SENT") or os.environ.get("BROADCASTER_TEST_SLOW_CLAIM"):
    from broadcaster.store import contract

    _mark_sent = contract.Store.mark_sent
    _claim = contract.Store.claim

    def _dying_mark_sent(self: contract.Store, delivery_id: int, remote_id: str, *args: Any, **kwargs: Any) -> None:
        prefix = os.environ.get("BROADCASTER_TEST_DIE_BEFORE_SENT")
        if prefix and remote_id.startswith(prefix):
            os._exit(137)
        _mark_sent(self, delivery_id, remote_id, *args, **kwargs)

    def _slow_claim(self: contract.Store, *args: Any, **kwargs: Any) -> bool:
        time.sleep(float(os.environ.get("BROADCASTER_TEST_SLOW_CLAIM") or 0))
        return _claim(self, *args, **kwargs)

    contract.Store.mark_sent = _dying_mark_sent  # type: ignore[method-assign]
    contract.Store.claim = _slow_claim  # type: ignore[method-assign]
