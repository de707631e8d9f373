"""Requests a medium deduplicates by a key of ours (Mastodon's Idempotency-Key, a Bluesky record key).

A request that may have arrived can be repeated once with the same key: the
service returns (or refuses to repeat) what the first made, so the repeat
shows nothing twice. If the repeat fails too, whatever its cause, the first may
still be up: from then on the delivery is ``unknown``, never retried blindly.
"""

from __future__ import annotations

from broadcaster.errors import DeliveryError


class Doubts:
    """The keys of one channel object whose request may have arrived without an answer."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def judged(self, key: str, error: DeliveryError) -> DeliveryError:
        """``error`` as the engine should see it, for a request sent with ``key``."""
        if not key:
            return error
        if key in self._keys:
            return DeliveryError(
                f"{error} An earlier attempt may have posted it already.",
                retryable=error.retryable, retry_after=error.retry_after, outcome_unknown=True,
            )
        if error.outcome_unknown:
            self._keys.add(key)
            # The same key makes one repeat safe; not repeated (its last attempt, the deadline),
            # the request may still have arrived: unknown, never failed, which a plain retry
            # would send again once the service has forgotten the key.
            error.repeat_safe = True
        return error

    def settled(self, key: str) -> None:
        self._keys.discard(key)
