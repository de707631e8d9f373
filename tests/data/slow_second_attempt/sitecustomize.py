"""Loaded by the interpreter of a command a test starts with this folder on PYTHONPATH: a delivery's second
attempt waits 5 s before its request (the file named by BROADCASTER_TEST_SLOW_SECOND_ATTEMPT is made as the
wait begins), so that a test can stop the command in that window. It changes when, never what, is sent."""

import os
import time

if os.environ.get("BROADCASTER_TEST_SLOW_SECOND_ATTEMPT"):
    from broadcaster.store import contract

    _note_attempt = contract.Store.note_attempt
    _calls: dict[int, int] = {}

    def _slow_second(self: contract.Store, delivery_id: int) -> None:
        _calls[delivery_id] = _calls.get(delivery_id, 0) + 1
        if _calls[delivery_id] == 2:
            open(os.environ["BROADCASTER_TEST_SLOW_SECOND_ATTEMPT"], "w").close()
            time.sleep(5)
        _note_attempt(self, delivery_id)

    contract.Store.note_attempt = _slow_second  # type: ignore[method-assign]
