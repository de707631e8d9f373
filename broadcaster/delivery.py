"""The values a delivery trades in, from plan to outcome: every layer may import them.

Channels, site hosts, the engine and the store all speak these types; keeping
them here (and not in ``channels``) means none of those layers imports another
to name a result.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from broadcaster import lazy_re
from broadcaster.errors import bounded

# What a delivery the operator left out says (its skip reason): a window's later steps (tick) skip it too.
NOT_IN_ONLY = "not in --only"
SKIPPED_BY_OPERATOR = "--skip"
WIDER_THAN_BEFORE = ("wider than this incident has gone: its earlier updates were kept to narrower readers with "
                     "--only/--skip. Name it in --only, or pass --widen, to send there")
LEFT_OUT_WHEN_ANNOUNCED = "left out when the window was announced (--skip or --only)"
LEFT_OUT_BY_OPERATOR = frozenset({NOT_IN_ONLY, SKIPPED_BY_OPERATOR, WIDER_THAN_BEFORE, LEFT_OUT_WHEN_ANNOUNCED})
# A correction's delivery skipped where its readers read nothing changed (``amend`` of another reader's detail).
READ_THE_SAME = "its readers read nothing changed: the correction changes only what others read"
# The same, where the version its readers would read it as has not gone out there yet (``advice.correction_not_out``,
# ``advice.postmortem_not_out``): "correction #4 reads the same here, and has not gone out (failed): ...".
NOT_OUT_READ_THE_SAME = " reads the same here, and "


def skipped_as_read_the_same(reason: str | None) -> bool:
    """Whether a skipped delivery's reason says its readers read it as the version they have (or are owed)."""
    return reason == READ_THE_SAME or (bool(reason) and NOT_OUT_READ_THE_SAME in str(reason))


# The ends of the reasons a correction is skipped with where the post of the update it corrects carries its text.
_CARRIED_UNSENT = "correction's text"
_CARRIED_SENT = "with its text, so its readers never read the text corrected"


def carried_unsent(sequence: int) -> str:
    """Why a correction is skipped where update #``sequence``, which it corrects, has not gone out yet: that post
    goes with the correction's text (``amend`` while it waited for ``retry``)."""
    return f"update #{sequence} has not gone out here yet: it goes with this {_CARRIED_UNSENT}"


def carried_sent(sequence: int) -> str:
    """Why a correction held behind its update is skipped once that update went out (``retry``) with its text."""
    return f"not sent: update #{sequence} went out here after this correction was made, already {_CARRIED_SENT}"


def carried_by_its_update(reason: str | None) -> bool:
    """Whether a skipped correction's reason says the post of the update it corrects carries its text there
    (``carried_unsent``, ``carried_sent``, as stores and exports of every version wrote them): its readers read
    this correction, or will once ``retry`` sends that post."""
    if not reason:
        return False
    return reason.endswith(f"it goes with this {_CARRIED_UNSENT}") or reason.endswith(f"already {_CARRIED_SENT}")


class DeliveryState(StrEnum):
    """Where one delivery stands. The values are what the store and ``--json`` hold."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # a request was out when the answer failed: the post may exist
    SKIPPED = "skipped"


# Still to do (retry and the outbox look at these) and finished for good.
OPEN_STATES = frozenset({DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED, DeliveryState.UNKNOWN})
DONE_STATES = frozenset({DeliveryState.SENT, DeliveryState.SKIPPED})


@dataclass(frozen=True)
class Rendered:
    """What one destination would send for one update.

    ``text`` is the readable form (what preview prints, and the notification
    fallback); ``parts`` are the messages to send in order when the medium
    needs more than one; ``payload`` carries medium-specific structure (Slack
    blocks, say). ``visibility`` is the view it was cut from.
    """

    text: str
    visibility: str
    parts: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> tuple[str, ...]:
        return self.parts or (self.text,)

    def stored(self) -> dict[str, Any]:
        """As the store keeps it beside a post in parts half sent (``Delivery.rendering``): JSON."""
        return {"text": self.text, "visibility": self.visibility, "parts": list(self.parts),
                "payload": json.loads(json.dumps(dict(self.payload), default=str))}

    @classmethod
    def from_stored(cls, value: Mapping[str, Any]) -> Rendered:
        """A rendering as ``stored`` wrote it; ValueError if it is not one."""
        text, visibility, parts, payload = (value.get(k) for k in ("text", "visibility", "parts", "payload"))
        if not (isinstance(text, str) and isinstance(visibility, str) and isinstance(payload, Mapping)
                and isinstance(parts, list) and all(isinstance(p, str) for p in parts)):
            raise ValueError("not a rendering: text, visibility, parts (a list of texts) and payload expected")
        return cls(text=text, visibility=visibility, parts=tuple(parts), payload=dict(payload))


@dataclass(frozen=True)
class ThreadRef:
    """Where an incident's earlier posts are at one target, so a follow-up threads.

    ``first_remote_id`` is the incident's first post there, ``last_remote_id``
    the most recent one (X replies to the latest, Telegram and Slack to the first).
    """

    first_remote_id: str
    last_remote_id: str


@dataclass(frozen=True)
class Receipt:
    """A successful delivery: the remote id later updates thread under, and any notes.

    ``starts_thread``: the post is the thread's first now (the first one was gone, so it went out on its own):
    later follow-ups thread under it, not under the one gone."""

    remote_id: str
    notes: tuple[str, ...] = ()
    starts_thread: bool = False

    def __post_init__(self) -> None:
        # A server's id, stored and sent back: kept as the store can take it, and take it back (``storable_id``).
        object.__setattr__(self, "remote_id", storable_id(self.remote_id))


# The longest post id the store keeps as it came: what `store import` takes back (a private detail's 5,000).
MAX_ID = 5_000
# An id of megabytes is cut to this, and names no post.
_CUT_ID = 1_000
# An escape as ``storable_id`` writes one ("\ud800"), and as a version of 2026-12-07 (53f12a9) wrote one of each
# control or invisible character in a service's id ("\u200b", "\x1b"); and where an id was cut ("…").
_ESCAPED = lazy_re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})|…")
# The characters such an escape stood for: none is printed, so none is written in an id by hand (an "\x41" is).
_UNSHOWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def storable_id(remote_id: str) -> str:
    """A service's post id as the store keeps it: as it came, but for each character `store import` refuses in an id
    (a control character, a line break; a lone surrogate, a JSON "\\ud800" no UTF-8 holds, for which the store
    refused the whole write) written as its escape, and an id of megabytes cut. Such an id names no post
    (``names_no_post``); the post is recorded sent all the same (never posted twice), and withdraw leaves it to the
    operator, saying so. Kept as it came, the store's own export was refused by the import: the store could not be
    moved or restored. An invisible character a service put in its id (a zero-width space) is kept: sent back as
    it came, it names the post (withdraw deletes it); it is shown escaped."""
    if remote_id.isascii() and remote_id.isprintable() and len(remote_id) <= MAX_ID:
        return remote_id  # every id a service really makes, at the cost of one scan
    if any(unicodedata.category(char) in _UNHELD for char in remote_id):
        return bounded("".join(_escape(char) if unicodedata.category(char) in _UNHELD else char
                               for char in remote_id), _CUT_ID)
    return remote_id if len(remote_id) <= MAX_ID else bounded(remote_id, _CUT_ID)


# What `store import` refuses in a post id (import_check): a control character (a line end and a tab with them), a
# lone surrogate, the line and paragraph separators.
_UNHELD = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def names_no_post(remote_id: str) -> bool:
    """Whether a stored remote id is not the service's own: a character of it kept as its escape, or cut
    (``storable_id``; a version of 2026-12-07 kept each control or invisible character escaped). Sent back, it names
    no post: an edit or a reply is refused, and a delete is told "not found", which counts as deleted: a withdrawal
    said the post was gone while it stayed up. No request names the post by it, so it is left to the operator."""
    return any(found.group() == "…" or _stands_for_unshown(found.group()) for found in _ESCAPED.finditer(remote_id))


def _stands_for_unshown(escape: str) -> bool:
    """Whether ``escape`` ("\\u200b") stands for a character no id is shown with: one a store kept escaped."""
    from broadcaster.messages.gate import IGNORABLE_MARKS  # here: only an id holding an escape pays for it

    code = int(escape[2:], 16)
    return code <= 0x10FFFF and (unicodedata.category(chr(code)) in _UNSHOWN or chr(code) in IGNORABLE_MARKS)


@dataclass(frozen=True)
class PostedAnew:
    """Why a correction goes as a new post, not an edit of its original (another account's, one gone), in parts: the
    words for the new post are the engine's, by what became of it. A channel's whole sentence, reworded by a
    pattern, kept "Posted the correction as a new status" (and "The correction goes ...") where the new post had
    failed, or was of unknown fate: its readers' original still up, uncorrected, and the note saying it was not."""

    why: str  # what keeps the original from being edited, one clause: "Discord message 7 is gone (deleted?)"
    kind: str = "message"  # the medium's word for a post: "message", "status"
    then: str = ""  # what to do with the original by hand, or whether it is still up: one lowercase clause

    def said(self, fate: DeliveryState | None = None) -> str:
        """The note: ``fate`` None where the correction is yet to go (a preview), else as its delivery ended."""
        if fate is None:
            anew = f"the correction goes as a new {self.kind}"
        elif fate == DeliveryState.SENT:
            anew = f"posted the correction as a new {self.kind}"
        else:
            went = "may or may not have gone" if fate == DeliveryState.UNKNOWN else "did not go"
            anew = f"the correction was to go as a new {self.kind} instead, and {went} (see the error)"
        return f"{self.why}: {anew}" + (f"; {self.then}" if self.then else "")

    def posted(self) -> str:
        """The note once the new post is sent (a ``NotEditable``'s message)."""
        return self.said(DeliveryState.SENT)

    def redacted(self, redact: Callable[[str], str]) -> PostedAnew:
        return replace(self, why=redact(self.why), then=redact(self.then) if self.then else "")


class NotKnownBeforeLogin(str):
    """A ``Channel.not_deletable_here`` that only a login can settle (Bluesky: which account a handle changed since the
    last one is): the withdrawal asks, and its dry run, which sends nothing, says the post may be left up."""

    __slots__ = ()


@dataclass
class SendLog:
    """What one delivery has done at its service so far, kept by the engine across attempts and runs.

    ``parts`` holds the remote id of every message of the delivery that the
    service confirmed, in order (most updates are one message; a long one on
    Telegram is several). A channel calls ``confirmed`` the moment a message
    is confirmed, and the engine stores it at once, so a retry, even by another
    process after a crash, resumes after the last confirmed part instead of
    posting them all again. ``parts[0]`` is the delivery's remote id.

    A channel that sets ``Channel.reports_requests`` calls ``sending`` right
    before each request that may post leaves: when the command's deadline cuts
    a send, ``on_wire`` tells the engine whether a request was out (the post
    may exist: ``unknown``) or not (nothing was sent: ``failed``).
    """

    parts: list[str] = field(default_factory=list)
    on_part: Callable[[str], None] | None = None
    on_wire: bool = False
    # An earlier attempt's request may have arrived (its answer was lost), though the one now
    # (a repeat with the same key) has not left yet: never to be called unsent.
    may_have_arrived: bool = False
    attempts: int = 0  # requests tried in this run (the store counts every run's)
    # The post goes out as its thread's first (``Receipt.starts_thread``): said by the channel through
    # ``starting_thread`` before the request leaves, and kept with the delivery, so that a resume, a cut at the
    # deadline or ``retry --mark-unknown-sent`` records it as its own thread's too, as the receipt would have.
    starts_thread: bool = False
    on_starts_thread: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    earlier_may_have_arrived: bool = False  # may_have_arrived as it was before the last attempt
    # Asked right before each message leaves, after its pacing and any 429's wait: raises ``NotNeeded`` when the
    # target's readers changed since the run read them (a subscribed chat removed, stopped or moved elsewhere).
    still_wanted: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    # Asked with ``still_wanted``, set by the engine: raises ``NotNeeded`` when the update itself is no longer to go
    # anywhere (a window's reminder once the window was cancelled, started or ended), whatever the target.
    still_timely: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    _stopped: bool = field(default=False, repr=False, compare=False)
    # stop() and sending() may race: the event loop tears down while a send is under way.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sending(self) -> None:
        self.check_still_wanted()
        self.leaving()

    def leaving(self) -> None:
        """The request leaves now: on the wire from here (``sending`` without asking ``still_wanted`` again), for a
        channel whose client queues requests after they are made (Telegram's, for a connection)."""
        with self._lock:
            if self._stopped:
                from broadcaster.errors import DeliveryError

                raise DeliveryError("the command was stopped before this request left", retryable=False)
            self.on_wire = True

    def check_still_wanted(self) -> None:
        """``still_timely`` and ``still_wanted``, each if set: a channel whose request may post text and that skips
        ``sending`` (an edit) calls this itself."""
        if self.still_timely is not None:
            self.still_timely()
        if self.still_wanted is not None:
            self.still_wanted()

    def stop(self) -> bool:
        """No request leaves through this log from now on (``sending`` raises); whether one may have
        reached the service (out now, or an earlier attempt's whose answer was lost)."""
        with self._lock:
            self._stopped = True
            return self.on_wire or self.may_have_arrived

    def starting_thread(self) -> None:
        """The channel is about to post this delivery as its thread's first message (the first one is gone)."""
        if self.starts_thread:
            return
        self.starts_thread = True
        if self.on_starts_thread is not None:
            self.on_starts_thread()

    def confirmed(self, remote_id: str) -> None:
        remote_id = storable_id(remote_id)  # as ``Receipt`` keeps it: recorded at once, and the delivery's id
        self.on_wire = False
        self.parts.append(remote_id)
        if self.on_part is not None:
            self.on_part(remote_id)


@dataclass(frozen=True)
class CheckResult:
    """One line of ``broadcaster channels check``."""

    channel: str
    target: str
    ok: bool
    detail: str
    resolved: str = ""  # the target as the service names it ("telegram:-100123"), when the check found it
