"""How long a rate-limited service asked to wait, read and said the same way for every channel.

A 429's wait is the service's word, or a proxy's: ``Retry-After: Infinity`` or ``NaN`` (``float()`` reads both, and
JSON too), ``1e300``, or as many digits as a header holds (past any float, past any date). Said as a number of
seconds, they came out as "Telegram asked to wait infs" or "nans"; and X's "may post again at" a date Python cannot
write ended the send as an unexpected error.
"""

from __future__ import annotations

import math

# Past this, a wait is said as "longer than a day", never as its number: no operator waits out 1e300 s, and a
# delivery asked to wait past the engine's deadline fails at once for `broadcaster retry` anyway.
LONGEST_WAIT_SAID = 24 * 3600.0


def honoured(seconds: object) -> float | None:
    """A service's wait as one to honour, in seconds: None for none, or one that is no wait (NaN, negative, not a
    number: the engine's own backoff then); ``inf`` for one past any float (the engine then stops at once)."""
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, int | float | str):
        return None
    try:
        value = float(seconds)
    except OverflowError:  # an int of 400 digits
        return math.inf
    except ValueError:
        return None
    return None if math.isnan(value) or value < 0 else value


def said(seconds: float | None) -> str:
    """What the service asked, as a clause of a message: "it asks to wait 30s", or how it did not say how long."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "it gave no wait time"
    if math.isinf(seconds):
        return "it asks to wait without saying how long"
    if seconds > LONGEST_WAIT_SAID:
        return "it asks to wait longer than a day"
    return f"it asks to wait {seconds:.2g}s" if seconds < 10 else f"it asks to wait {seconds:.0f}s"


def sayable(seconds: float | None) -> bool:
    """Whether ``seconds`` is a wait a message can give as a number (and a time of day, ``now + seconds``)."""
    return seconds is not None and math.isfinite(seconds) and 0 <= seconds <= LONGEST_WAIT_SAID
