"""The protocol every destination implements, and the values it trades in.

A channel is one module in this package holding one ``Channel`` subclass whose
``type_name`` is the module's name (``type = "slack"`` in the config loads
``channels/slack.py``; ``broadcaster.registry`` finds it, and a module named
``_x.py`` is a helper, not a channel). Adding Mastodon is one new file here, plus its
formatter in ``messages/`` and its tests.

The split of work:

* ``render(view)`` is pure. It receives a visibility-filtered view (never the
  raw update), calls the medium's formatter in ``messages/`` and returns a
  ``Rendered`` that ``broadcaster preview`` can print as is.
* ``send(rendered, target=..., thread=...)`` does the I/O for one target (one
  chat, one channel) and returns a ``Receipt``. It raises ``DeliveryError``
  (``retryable`` or not) and never returns a failure flag: the cause matters.
  It does not retry: the engine owns retries, backoff and deadlines.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import DeliveryError, InputError, permanent
from broadcaster.redaction import stored_text

if TYPE_CHECKING:
    from broadcaster.messages.visibility import UpdateView

    from broadcaster.config import ChannelConfig


class RoomMemory(Protocol):
    """Where the chat a name was found to be is kept between commands (the store)."""

    def remembered_room(self, key: str) -> str | None: ...

    def remember_room(self, key: str, room: str) -> None: ...


class Channel(ABC):
    """Base of every destination. Subclasses set the class attributes and the three methods.

    Class attributes are the channel's facts, with the reason next to each:

    * ``type_name``: the value of ``type =`` in the config (and the module name).
    * ``visibilities``: which ``visibility =`` values the config may give it
      (``private`` is ``internal``'s synonym).
    * ``carries_audience``: whether ``audience = "ID"`` (one customer's channel)
      may be set; by default, whenever the channel may be private.
    * ``required_options`` / ``optional_options``: type-specific config keys.
    * ``secret_options``: keys whose values must never be printed.
    * ``default_api_url``: the public API root that ``api_url`` replaces.
    * ``media_type`` / ``payload_media_type``: how the service reads ``Rendered.text``
      and ``parts``, and ``Rendered.payload`` as JSON; the egress guard reads them so.
    """

    type_name: ClassVar[str]
    visibilities: ClassVar[tuple[str, ...]] = ("public", "private")
    carries_audience: ClassVar[bool | None] = None  # None: when "private"/"internal" is in visibilities
    required_options: ClassVar[tuple[str, ...]] = ()
    optional_options: ClassVar[tuple[str, ...]] = ()
    secret_options: ClassVar[tuple[str, ...]] = ()
    default_api_url: ClassVar[str] = ""
    media_type: ClassVar[str] = "text/plain"
    payload_media_type: ClassVar[str] = "application/json"
    # True when send() and edit() call log.sending() before each request leaves and
    # log.confirmed() after each message is confirmed. Otherwise the engine counts a
    # send cut short by the deadline as possibly delivered.
    reports_requests: ClassVar[bool] = False
    # Where every repeat of a request carries one id the receiver drops once seen (a webhook's webhook-id), what
    # the operator is told of it: such a channel calls log.sending() never, so a send cut or stopped before its
    # answer is failed or pending (a plain retry sends it again), and this says why that is safe though the
    # request may have arrived.
    repeats_alike: ClassVar[str] = ""
    # Where every repeat of a post carries a key made from the delivery, by which the service (or the receiver)
    # drops or answers a repeat with what the first made (a webhook-id, Matrix's transaction id, Mastodon's
    # Idempotency-Key, a Bluesky record key: a post found under it of the same time and card is taken as the first,
    # whatever its text; a mail's Message-ID, which some mailboxes drop when seen): a correction made after an
    # attempt that may have arrived follows the resend as a correction. Carried in the resend alone, the service
    # kept the first text and the correction was lost (reviews 36b, 38a).
    keyed_repeats: ClassVar[bool] = False

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.name = config.name
        # Seconds to wait for one answer; the destination sets it from [engine] timeout.
        self.request_timeout: float = 15.0
        # Set by the destination that builds it (the store): where the chats a channel's names lead to are kept.
        self.rooms: RoomMemory | None = None

    @classmethod
    def may_carry_audience(cls) -> bool:
        """Whether a table of this type may name an ``audience`` (a customer's own channel)."""
        if cls.carries_audience is not None:
            return cls.carries_audience
        return any(v in ("private", "internal") for v in cls.visibilities)

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        """Raise ConfigError for type-specific mistakes the key lists cannot express."""

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """Each target of a valid config as (a key equal for equal targets, the target as written).

        The config loader refuses one key in tables of different visibilities.
        """
        return []

    @classmethod
    def delivery_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """Like ``target_keys``, but equal only where a message lands in the same place: two tables with one key
        here would post each update twice (a webhook's threads are one channel's readers, yet two places)."""
        return cls.target_keys(options)

    @classmethod
    def target_key(cls, target: str) -> str:
        """``target`` as the service tells its places apart: equal for two spellings of one place (a Telegram @name
        in another letter case). A stored delivery's target and the config's are compared by it: one rewritten in
        the config mid-incident is still the place the incident's earlier posts are in."""
        return target

    @classmethod
    def post_chat_key(cls, remote_id: str) -> tuple[str, ...] | None:
        """The key (as ``target_keys`` makes them) of the chat a stored post id names, for ids that name one
        (``-100123:45``); None otherwise. An imported id naming another table's chat is refused by it."""
        return None

    @property
    def api_url(self) -> str:
        return self.config.api_url or self.default_api_url

    # -- rooms: one chat written two ways ------------------------------------------

    def room_names(self) -> tuple[str, ...]:
        """The chats of this table as written, where a chat may be written two ways (an id or a name).

        Empty for types whose targets are written one way only: the config loader compares those.
        """
        return ()

    def room(self, written: str) -> str | None:
        """The chat ``written`` is (``"slack:C0123"``) when the config says so outright; None for a name."""
        return None

    cache_key_needs_secret: ClassVar[bool] = False  # a name resolves within the account the token opens

    def room_cache_key(self, written: str) -> str:
        """The name ``written`` within the account it resolves in, as the store remembers the answer."""
        return f"{self.type_name}:{written}"

    async def lookup_room(self, written: str) -> str:
        """Ask the service which chat the name ``written`` is; "" when it knows none (nothing can be posted there)."""
        return ""

    def targets(self) -> tuple[str, ...]:
        """The separate places one update goes to (chats); one delivery record each."""
        return ("",)

    def pacing_seconds(self, deliveries: int) -> float:
        """How long the service's own rate limits make ``deliveries`` sends take at least.

        The engine adds it to the command's deadline, so a large broadcast paced
        to stay within the limits is not cut off as "timed out".
        """
        return 0.0

    def prepare(self) -> None:
        """Learn, before anything is rendered, what rendering depends on (an instance's limits).

        Called once per command and channel object, outside the event loop, before the
        previews and before the sends; may do I/O and must not raise (fall back to defaults).
        """

    @abstractmethod
    def render(self, view: UpdateView) -> Rendered:
        """Format one update for this medium. Pure: no I/O, no clock."""

    @abstractmethod
    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        """Post one rendered update to one target, threaded under ``thread`` if given.

        ``log`` (from the engine) holds the parts already confirmed by an earlier
        attempt: send only the rest. Record each confirmed message with
        ``log.confirmed(remote_id)``, and call ``log.sending()`` before each
        request that may post.

        Raises ``DeliveryError``: retryable for rate limits (with ``retry_after``),
        503s and refused connections; ``outcome_unknown`` when the request may have
        arrived (read timeouts, resets after sending, other 5xx); permanent for
        bad credentials, unknown targets and rejected content. Messages say what
        to fix and never hold a secret.
        """

    async def edit(self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None) -> Receipt:
        """Replace an earlier post in place. Media that cannot edit raise a permanent error.

        Where this one post cannot be edited (another sender's, one the service no longer finds) and nothing
        was changed, raise ``NotEditable`` saying why: the engine posts the correction anew, rendered as a
        new post (never this edit's rendering, which shows the update as it was posted)."""
        raise permanent(f"{self.type_name} cannot edit a post in place")

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """Delete earlier posts of a withdrawn incident at ``target``: every part and follow-up in ``remote_ids``.

        Media that can delete override this (``can_delete`` turns true); the default
        means "cannot", and the engine posts a short "posted in error" follow-up there
        instead. An override:

        * treats a post already gone (deleted by hand, or by an earlier attempt) as deleted,
          so the list can simply be tried again by ``broadcaster retry``;
        * tries every id even when one fails, then raises one ``DeliveryError`` naming
          those left: retryable for rate limits and network trouble (repeating a delete
          shows nothing twice, so never ``outcome_unknown``), permanent where the service
          refuses (too old, not allowed), saying how to delete by hand; its ``deleted``
          holds the ids that were deleted (``delete_each`` sets it), which the engine keeps
          and leaves out of later attempts;
        * returns a ``Receipt`` whose ``remote_id`` is the first id deleted (or "").
        """
        raise permanent(f"{self.type_name} cannot delete a post")

    @property
    def can_delete(self) -> bool:
        return type(self).delete is not Channel.delete

    def left_after_delete(self, remote_ids: Sequence[str]) -> list[str]:
        """What ``delete`` of these posts leaves up, told before it is done (``withdraw --dry-run``): a Discord forum
        post its first message opened. Nothing, where deleting the posts removes all of them."""
        return []

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """Why ``delete`` refuses this post with this table's credentials, without asking the service (one another
        account or instance made: only it may delete it), saying what to do by hand with its link; "" where it is
        deleted (or the service is asked). ``delete`` refuses by it and ``withdraw --dry-run`` lists by it, so the
        dry run promises no delete the withdrawal refuses. Not ``posted_here``: a Slack or Matrix token deletes a
        post in a channel or room the table left. A ``NotKnownBeforeLogin`` where only a login tells."""
        return ""

    def not_editable_here(self, remote_id: str, target: str) -> PostedAnew | None:
        """Why ``edit`` would not edit this post with this table's credentials (one another account or instance
        made), so a correction goes as a new post, saying what to do with the original by hand; None where it edits
        it, or where only the edit's answer tells (``NotEditable`` then). A correction's preview and its send both ask
        it: the preview shows the new post the send makes, not an edit."""
        return None

    def remote_location(self, remote_id: str) -> str | None:
        """The chat, channel or room a post's remote id names (where an edit of it lands); None where an
        id names no place (one account's posts). ``remote_id_from`` refuses an id of another place
        where the config names it; elsewhere ``retry`` compares it with where earlier posts went."""
        return None

    def names_its_location(self) -> bool:
        """Whether the config names this channel's place as its remote ids do, for ``remote_id_from`` to check."""
        return True

    def posted_here(self, remote_id: str, target: str) -> bool:
        """Whether a post's remote id names the place the config now names for ``target``; True where
        the config cannot tell (a Slack channel by name) or ids name no place. The engine threads under,
        and edits, only posts made here: a table pointed at another channel must not keep posting into
        the one it left."""
        return True

    def same_post(self, stored: str, given: str) -> bool:
        """Whether ``given`` (from ``remote_id_from``) names the post ``stored`` (broadcaster's record) does: the same
        id, where a channel's ids spell a post one way only."""
        return stored == given

    def remote_id_from(self, reference: str, target: str) -> str:
        """A post's remote id from what an operator can copy (the id itself, or a link to the post).

        Used by ``retry --mark-unknown-sent --remote-id``; raises ``InputError`` when
        the reference cannot name a post of this channel.
        """
        text = reference.strip()
        if not text:
            raise InputError(f"an empty post id for {self.name}.")
        return text

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """``remote_id`` (from ``remote_id_from``) asked of the service, where only it tells whose post it is (an X link
        names any account, a Bluesky link a handle): ``retry --mark-unknown-sent --remote-id`` refuses another
        account's post (``InputError``, nothing stored), rather than thread later updates under a stranger's. Returns
        the id, completed where the answer tells more. Not timed (a login is fine). As given where nothing is asked.

        ``replies_to``: where the post must be, for a service that tells which thread a post is in (Slack, Discord):
        the remote id of the thread's first post it replies under, "" for a post that starts its thread (the
        incident's first, or one posted anew), None where not to check (a correction edited in place).
        """
        return remote_id

    @property
    def can_edit(self) -> bool:
        return type(self).edit is not Channel.edit

    # Besides its posts, it shows the incident as it stands (Slack's status card): corrections carry that too.
    keeps_a_summary = False

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """Everything of ``rendered`` that may leave, each with the media type its readers read it in.

        The text and each part, the parts read one after another (a value cut
        across two messages), and the structured payload as JSON.
        """
        texts = [rendered.text, *rendered.parts]
        if len(rendered.parts) > 1:
            texts += ["\n".join(rendered.parts), "".join(rendered.parts)]
        found = [(text, self.media_type) for text in texts]
        if rendered.payload:
            found.append((json.dumps(dict(rendered.payload), default=str, ensure_ascii=False), self.payload_media_type))
        return found

    async def check(self) -> list[CheckResult]:
        """Verify credentials and targets without posting anything."""
        return [CheckResult(self.name, "", True, "nothing to check")]

    async def aclose(self) -> None:
        """Release network clients. Called once per command."""

    async def username(self) -> str:
        """The sender's own name on the service (a bot's username, for links that open a chat
        with it); "" where it has none. Raises ``DeliveryError`` when the service refuses."""
        return ""

    def target_gone(self, error: DeliveryError) -> bool:
        """Whether ``error`` says the target is gone for good or refuses this sender (a chat that
        blocked the bot, a deleted chat): a subscription to it ends. False unless a channel knows."""
        return False

    @staticmethod
    def may_follow_to(chat: str) -> bool:
        """Whether a send may follow its chat where it moved (a group that became a supergroup). A destination of
        subscribed chats sets its own: one the new chat hears otherwise (its own subscription, a table) is not
        followed into, or that chat would get the post twice, the other readers' cut among them."""
        return True

    def moved_target(self, receipt: Receipt, target: str) -> str | None:
        """The target a send was followed to when the old one moved (a group that became a
        supergroup), read from its receipt; None when it stayed."""
        return None

    # Helpers for subclasses.

    async def delete_each(
        self, remote_ids: Sequence[str], delete_one: Callable[[str], Awaitable[bool | None]]
    ) -> Receipt:
        """``delete``'s loop: every id tried, failures gathered into one error (see ``delete``).

        ``delete_one`` returns when the post is gone (already gone included) and
        raises ``DeliveryError`` otherwise. The error is retryable when any failure
        is, and carries the ids deleted (``DeliveryError.deleted``): the engine keeps
        them, and a later attempt asks only about the rest, which another sender's
        credentials may be needed for (a replaced webhook's). ``delete_one`` returns
        False for a post it counts gone that a later attempt should ask about again,
        what it says of it (a note) being said only on success.
        """
        failures: list[DeliveryError] = []
        deleted: list[str] = []
        tried = list(dict.fromkeys(r for r in remote_ids if r))
        for remote_id in tried:
            try:
                if await delete_one(remote_id) is not False:
                    deleted.append(remote_id)
            except DeliveryError as exc:
                failures.append(exc)
        if not failures:
            # Said: the outcome reads "sent" like any other, and the id shown is of a post now gone.
            done = f"deleted {len(tried)} post(s) of the incident here" if tried else (
                "no post of the incident here whose id is known (one of unknown fate, if any, is listed apart, to delete by "
                "hand)")
            return Receipt(remote_id=remote_ids[0] if remote_ids else "", notes=(done,))
        others = f" ({len(failures) - 1} more post(s) not deleted either)" if len(failures) > 1 else ""
        retry_after = max((f.retry_after or 0.0 for f in failures), default=0.0) or None
        # Never of unknown outcome, whatever each failure said: repeating a delete cannot show anything twice.
        error = self.fail(f"{failures[0]}{others}", retryable=any(f.retryable for f in failures),
                          retry_after=retry_after, outcome_unknown=False)
        error.deleted = tuple(deleted)
        raise error

    def secret(self, key: str) -> str:
        """The raw value of a secret option: read only where the SDK client is built."""
        value = self.config.options.get(key)
        if value is None:
            return ""
        return value.reveal() if hasattr(value, "reveal") else str(value)

    def secret_values(self) -> list[str]:
        from broadcaster.config import url_secrets  # config loads the channel classes

        values = []
        for key in self.secret_options:
            raw = self.config.options.get(key)
            if raw is not None and hasattr(raw, "reveal_or_empty"):
                values.append(raw.reveal_or_empty())
        values += url_secrets(self.config)  # a proxy's password in api_url: errors name the URL
        values = [v for v in values if v]
        return values + [part for value in values for part in self.secret_parts(value)]

    @classmethod
    def secret_parts(cls, value: str) -> list[str]:
        """Of a secret value, the parts that are a credential alone (a Discord webhook URL's token, a Teams flow's
        ``sig=``): an error may quote one alone, and the same webhook written another way holds it too.
        ``secret_values`` adds them, and ``Config.named_secrets`` asks here (``registry.secret_parts_of``), so an
        update holding one is refused. None by default: a channel whose secrets are tokens as a whole."""
        return []

    def redact(self, text: str) -> str:
        """``text`` with every secret of this channel replaced by ``***``, and a user name standing alone in a
        URL (``api_url = "http://KEY@proxy/"``, a proxy's key) too."""
        return stored_text(text, self.secret_values())

    def fail(
        self, message: str, *, retryable: bool, retry_after: float | None = None, outcome_unknown: bool = False
    ) -> DeliveryError:
        """A DeliveryError for this channel, its message scrubbed of secrets."""
        return DeliveryError(
            self.redact(message), retryable=retryable, retry_after=retry_after, outcome_unknown=outcome_unknown
        )


def redirect_refused(answered: str, location: str, carried: str, fix: str) -> str:
    """What a channel says of a redirect it did not follow (no SDK here follows one): where it pointed, what would
    have gone with it, and the setting to fix. ``answered``: "Slack's API at https://... answered chat.postMessage"."""
    from urllib.parse import urlsplit

    host = urlsplit(location).hostname or "another address"
    return (f"{answered} with a redirect to {host}, which broadcaster does not follow ({carried} would go with it), "
            f"so nothing was posted. {fix}")
