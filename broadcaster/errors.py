"""One exception tree for the whole program.

Library errors (tweepy, telegram, slack_sdk, botocore, sqlite3) are caught where
they happen and re-raised ``from`` the original as one of these, with a message
an operator in the middle of an outage can act on. Only ``broadcaster.cli``
turns them into exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from broadcaster import lazy_re

if TYPE_CHECKING:
    from broadcaster.delivery import PostedAnew

# Control characters (C0 but line end and tab, DEL, C1), the format characters (Unicode's Cf: bidirectional
# overrides, embeddings, isolates and marks, U+061C, zero-width spaces, the soft hyphen, interlinear annotation)
# and the line and paragraph separators: a server's answer quoted in an error could clear the operator's screen,
# rewrite the line above ("failed" shown as "sent"), set the window title or write the clipboard (OSC 52), start
# a line of its own, or reorder what is shown. Kept: the zero-width joiner and the tag characters, which join an
# emoji ("👩‍💻", a flag) and lay out nothing. tests/test_fix20_gate.py checks the class against ``unicodedata``.
# And a lone surrogate (a JSON "\ud800" a server sent, which Python decodes as it is): no UTF-8 holds one, so
# neither the store nor the terminal could take the text (review 48b).
_UNPRINTABLE = lazy_re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200c\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\ud800-\udfff]"
)
# What else breaks a line where one line is shown (a delivery's row, its error): the line end and the tab.
_LINE_BREAKS = lazy_re.compile(r"[\n\t]")


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` safe to print on a terminal: each control or format character shown as its escape (``\\x1b``).

    ``one_line``: line ends and tabs escaped too (``\\n``), for a text that must keep to its line: what a
    server said, shown on the line of the delivery it is about, where a line of its own could pass for another
    delivery's ("✓ pub  sent").
    """
    if text.isprintable():  # none of them is (tests/test_fix20_gate.py): most texts, at the cost of one scan
        return text
    shown = _UNPRINTABLE.sub(lambda found: repr(found.group())[1:-1], text)
    return _LINE_BREAKS.sub(lambda found: repr(found.group())[1:-1], shown) if one_line else shown


# The most of a text about one delivery (an error quoting a server's answer, a note) that is stored or shown: a
# server may answer with megabytes (a proxy's error page, a hostile description), and each delivery's line, its row
# in the state file and its `--json` would carry them all. Our own words come last (what to do), so the end is kept
# as well as the start.
MAX_SHOWN = 2000
_KEPT_END = 600
# The most of a command's own error shown (``error: ...``): ours may name many destinations or incidents, so more
# room than one delivery's; what it quotes of a server (`subscribers invite` asking getMe) is still bounded.
MAX_SHOWN_ERROR = 8000


def storable(text: str) -> str:
    """``text`` as UTF-8 holds it: each lone surrogate (a JSON "\\ud800" a server sent, in a post's id or a note)
    written as its escape, the rest as it is. SQLite refused the whole text: a post that was up was never recorded
    sent (reaped as unknown, and posted twice by ``--include-unknown``), a refusal never recorded failed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def bounded(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` at most ``limit`` characters: its middle cut out and marked "…" where it is longer. Cut only
    what was redacted already: a secret cut in two would be masked by neither half."""
    if len(text) <= limit:
        return text
    end = min(_KEPT_END, limit // 3)
    return text[: limit - end - 1] + "…" + text[len(text) - end:]


def did_you_mean(typed: str, known: Sequence[str], *, many: int = 3) -> str:
    """" Did you mean 'x'?" for the closest names (those ``typed`` begins, then typos), or "".

    Compared case-folded, so ``API`` suggests ``api``: names are matched whole and exactly, and the
    suggestion is what tells an operator which spelling is meant. The name ``typed`` is but for its letter
    case is the one meant (caps lock, an id copied from a ticket): it is suggested alone, never after
    another (``api-errors-...-2`` first, pasted in a hurry, would act on the wrong incident).
    """
    import difflib  # here: only a mistyped name pays for it, not every start-up

    folded = typed.casefold()
    same_but_case = [k for k in known if folded and k.casefold() == folded]
    if len(same_but_case) == 1:
        return f" Did you mean {same_but_case[0]!r}?"
    starting = [k for k in known if folded and k.casefold().startswith(folded)]
    by_fold = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(folded, list(by_fold), n=many, cutoff=0.5)
    # Several names differing only in case ("API", "api"): all of them first, then the rest.
    names = list(dict.fromkeys([*same_but_case, *(starting or [by_fold[c] for c in close])]))[:max(many, len(same_but_case))]
    return f" Did you mean {' or '.join(repr(n) for n in names)}?" if names else ""


class BroadcasterError(Exception):
    """Base of every error this program raises on purpose."""

    exit_code = 1


class InputError(BroadcasterError):
    """The operator's command line or message is wrong: nothing was stored or sent."""

    exit_code = 2


class ConfigError(BroadcasterError):
    """The configuration file is wrong: nothing was stored or sent."""

    exit_code = 2


class StoreError(BroadcasterError):
    """The state store cannot be opened or written. ``reason``: what failed, in a few words, without the advice the
    message gives a command that sent nothing ("run the command again"), for the one that sent something."""

    exit_code = 1

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


# The lasting way on for a store lock another account made: each member's command makes a lock it does not find, its
# own only, so removing one hands the next member's command the same refusal.
# Why a state file a group shares fails, and what to do for good: said by every refusal of it (its locks, its copy).
SHARED_STATE_FILE = (
    "The embedded state file serves one account: shared by a group, each member's locks are its maker's only, and the "
    "owner's next command makes the file private again. For good, run every broadcaster command as one account "
    "(sudo -u ACCOUNT broadcaster ...), or share a PostgreSQL store instead, whose locks are the database's (team mode: "
    "[store] url = \"postgresql://...\", see the README's \"Team mode\"; `broadcaster store export` here and "
    "`store import` there move the incidents).")


def lock_refused_advice(lock: str) -> str:
    """What a command refused a store's lock file another account made says: ``lock`` (the lock and whose it is,
    ``Store.lock_refused``), then the ways on."""
    return (f"{lock} Now, run the command as the account that made it, or have that account (or root) remove it while "
            f"no broadcaster command runs (the next command makes it again, its own). {SHARED_STATE_FILE}")


class LockRefused(InputError):
    """A store lock this user may not open (another account's: a state file a group shares), refused before anything
    was stored. ``reason``: the lock, whose it is and what to do, without "Nothing was stored or sent", for a command
    that got further when it met the lock (a site target's upload, after the page was built and others uploaded).
    ``lock``: the lock and whose it is alone, for a caller that says its own way on."""

    def __init__(self, message: str, reason: str, lock: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.lock = lock or reason


class LockRefusedAfterStoring(StoreError):
    """``LockRefused`` met once this command had stored something (``reason`` and ``lock`` as there)."""

    def __init__(self, message: str, reason: str, lock: str = "") -> None:
        super().__init__(message, reason)
        self.lock = lock or reason


class NewerStoreError(StoreError):
    """The store was written by a newer broadcaster: refused before anything is read or written (a refusal, exit 2;
    1 says a command failed part way)."""

    exit_code = 2


class ConflictError(StoreError):
    """The incident changed between reading it and writing to it (another command wrote first).

    Raised before anything is stored or sent; the caller reads the incident
    again and decides anew, or reports it.
    """


class KeptChanging(ConflictError):
    """Another command changed the incident every time it was decided, ``CONFLICT_ATTEMPTS`` times in a row: given up,
    nothing stored or sent (a refusal, exit 2); the next run decides it again."""

    exit_code = 2


class MovedElsewhere(Exception):
    """A send's chat moved (a group that became a supergroup) to one the send may not follow into (``moved_to``):
    nothing was sent. Raised by a channel whose ``may_follow_to`` refused, caught by the destination that refused."""

    def __init__(self, moved_to: str, parts: int = 0) -> None:
        super().__init__(moved_to)
        self.moved_to = moved_to
        self.parts = parts  # the parts of the post that reached the old chat before it moved


class NotNeeded(Exception):
    """Nothing needs sending for this delivery after all (its chat hears the update otherwise): recorded skipped,
    with this message as the reason. Raised by a destination's ``deliver`` before anything was sent."""


class DeliveryError(BroadcasterError):
    """One destination refused or failed to take a message.

    ``retryable`` says whether sending the same thing again later may work
    (rate limit, 5xx, timeout, connection reset) or not (bad credentials,
    unknown chat, rejected content). ``retry_after`` is the server's own hint
    in seconds, when it gave one.

    ``outcome_unknown`` says the request may have reached the service and been
    acted on although no answer came back (a read timeout, a reset after the
    request was sent, a 5xx that does not promise nothing happened). The
    engine never resends such a delivery by itself where sending twice shows
    twice (a post): it records it ``unknown`` for a human to check. Where
    resending is harmless (a site upload) it is retried like any other.
    Only errors that prove the request was not acted on leave it False:
    a refused connection, a 429, a 503, a validation error.
    """

    exit_code = 3

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, outcome_unknown: bool = False
    ) -> None:
        # It quotes what servers say, and is stored and printed on its delivery's line.
        super().__init__(printable(message, one_line=True))
        self.retryable = retryable
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        # Set by a channel whose service deduplicates by a key of ours: one repeat with the same key
        # shows nothing twice, though the request may have arrived. If the engine does not repeat
        # it (the last attempt, the deadline), the delivery is still unknown.
        self.repeat_safe = False
        # Set where the doubt can only be an earlier attempt of ours (X's "duplicate content": the text is
        # already on the account): when no earlier attempt of this delivery may have arrived, the service
        # refused it and nothing was sent, for the reason this says.
        self.refused_if_first: str | None = None
        # Set by a delete that failed for some posts (``Channel.delete_each``): those it did delete or found gone.
        # The engine keeps them with the withdrawal's delivery, so that a later attempt, perhaps with other
        # credentials (a replaced webhook's URL put back), asks only about the rest.
        self.deleted: tuple[str, ...] = ()


class NotEditable(DeliveryError):
    """The post a correction would replace cannot be edited by this sender (another sender's post, one the service
    no longer finds), and nothing was changed or sent. Raised by a channel's ``edit``; the engine then sends the
    correction as a new post in the same attempt, rendered as one (the incident as it stands, marked as a
    correction: never the edited post's old status and promises, repeated as if made now), and the message of
    this error, which says why and whether the original is still up, becomes a note of its outcome."""

    def __init__(self, anew: PostedAnew) -> None:
        super().__init__(anew.posted(), retryable=False)
        self.anew = anew


def retryable(message: str, retry_after: float | None = None) -> DeliveryError:
    """A failure worth trying again, optionally after ``retry_after`` seconds."""
    return DeliveryError(message, retryable=True, retry_after=retry_after)


def maybe_delivered(message: str) -> DeliveryError:
    """The request left and no answer came back: the service may have acted on it."""
    return DeliveryError(message, retryable=True, outcome_unknown=True)


def permanent(message: str) -> DeliveryError:
    """A failure that will not go away by trying again: the message says what to fix."""
    return DeliveryError(message, retryable=False)
