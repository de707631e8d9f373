"""Slack: one channel, one thread per incident, the first message kept current.

Config (``[channels.NAME]`` with ``type = "slack"``)::

    token = "${SLACK_BOT_TOKEN}"   # bot token xoxb-...: chat:write (check also uses channels:read)
    channel = "C0123ABCD"          # a channel id, or "#status"
    reply_broadcast = true         # also show status changes in the channel, not only in the thread

The first update of an incident is a top-level message; later ones are replies
in its thread (``thread_ts``), broadcast to the channel when the status
changes. After each reply the first message is edited (``chat.update``) into
a status card showing the incident's current status; if that edit fails the
update still counts as delivered, with a note saying so. A correction (``amend``)
edits its post, then the card, from the incident as its readers now read it
(the engine's ``payload["now"]``); a failed card edit then fails the correction,
since the card may still show the text taken back. Once the first message is the
card, a correction of it refreshes the card only: never its update as posted.

The client is slack-sdk's ``WebClient`` (urllib), each request run in a worker thread:
measured against ``AsyncWebClient`` with aiohttp (issue 20, BENCHMARKS.md), it costs a
quarter of the CPU to load and send with (aiohttp alone takes longer to import than
the rest), and one or two requests a command need no connection pool. It is imported
when the client is built, so validating the config and posting elsewhere pay nothing.

Remote ids are ``"<channel id>:<ts>"`` (``C0123:1700000000.000100``): Slack
needs both to thread under or edit a message, and the engine stores only
strings between invocations.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from broadcaster.channels import _wait
from broadcaster.channels._threads import off_the_loop
from broadcaster.channels.base import Channel, redirect_refused
from broadcaster.messages import slack as fmt
from broadcaster.messages.egress import SLACK_BLOCKS
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret
from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, NotEditable

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from broadcaster.config import ChannelConfig

log = logging.getLogger(__name__)

_CHANNEL_ID = lazy_re.compile(r"^[CGD][A-Z0-9]{2,}$")  # public C..., private G... or C..., DM D...
# Slack channel names are lowercase, without spaces, at most 80 characters.
_CHANNEL_NAME = lazy_re.compile(r"^#?[a-z0-9][a-z0-9._\-]{0,79}$")
_REMOTE_ID = lazy_re.compile(r"^([CGD][A-Z0-9]+):(\d+\.\d+)$")
# A message's link as Slack copies it: https://<workspace>.slack.com/archives/<channel id>/p<ts without its dot>, a
# reply's with ?thread_ts=<its thread's ts>&cid=<channel id>. Matched whole: searched for anywhere, junk around it and
# another host were taken.
_MESSAGE_PATH = lazy_re.compile(r"^/archives/(?P<channel>[CGD][A-Z0-9]+)/p(?P<digits>[0-9]{7,})/?$")
_SLACK_HOST = lazy_re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+slack\.com$")
_TS = lazy_re.compile(r"^[0-9]+\.[0-9]+$")

_BAD_TOKEN = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
}
_BAD_CONTENT = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "invalid_arguments",
}
# Slack's own failures. Its method docs say of fatal_error and internal_error: "It's possible
# some aspect of the operation succeeded before the error was raised"; the other two mean the
# request was not taken (unavailable, or the POST body arrived truncated).
_SLACK_SIDE_MAYBE_DONE = {"fatal_error", "internal_error"}
_SLACK_SIDE_NOT_DONE = {"service_unavailable", "request_timeout"}
# Methods that change nothing: an answer lost on the way is a lookup to repeat, never a post in doubt.
_READS = frozenset({"auth.test", "conversations.info", "conversations.list", "chat.getPermalink"})
_RATE_LIMITED = {"ratelimited", "rate_limited"}
# chat.update parses its text as a client would by default (chat.postMessage does not): names as mentions.
_AS_WRITTEN: dict[str, Any] = {"parse": "none", "link_names": False}
# What slack-sdk puts in place of an answer that is not JSON (a proxy's page, an empty body).
_NOT_JSON = "Received a response in a non-JSON format"
_CANNOT_EDIT = (
    "Slack cannot edit that message ({code}); it may have been deleted. Post a new update."
)
# For errors that retrying will not fix: what went wrong, then what to do.
_REFUSALS = {
    "bad_token": "Slack rejected the bot token ({code}). Check {var}: it must hold the app's "
    "current Bot User OAuth Token (xoxb-...) from OAuth & Permissions; reinstall the app if it "
    "was revoked.",
    "missing_scope": "The Slack app lacks the {needed} scope needed for {method}. Add it under "
    "OAuth & Permissions > Bot Token Scopes, reinstall the app, and update {var} if the token "
    "changed.",
    "channel_not_found": "Slack cannot find channel {channel} (or the bot cannot see it). Check "
    "`channel` in [channels.{name}] (the id is under channel name > About); for a private "
    "channel, invite the bot first with /invite @your-bot.",
    "not_in_channel": "The bot is not a member of {channel}. In Slack, open the channel and run "
    "/invite @your-bot.",
    "is_archived": "Channel {channel} is archived. Unarchive it, or set `channel` in "
    "[channels.{name}] to another one.",
    "bad_content": "Slack refused the message content ({code}{detail}). This is a bug in "
    "broadcaster's Slack formatting; please report it with the update text. Shortening the "
    "message may work around it.",
    "message_not_found": _CANNOT_EDIT,
    "cant_update_message": _CANNOT_EDIT,
    "edit_window_closed": _CANNOT_EDIT,
    "cant_delete_message": "Slack would not let the bot delete a message in {channel} ({code}): a bot "
    "deletes only its own messages, and a workspace may forbid deleting. Delete it by hand in Slack.",
    "other": "Slack refused {method} ({code}). See https://api.slack.com/methods/{method} for "
    "what it means.",
}


_CARD_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


class SlackDeliveryError(DeliveryError):
    """A DeliveryError that keeps Slack's error code (``not_in_channel``...) for callers."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        code: str = "",
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after, outcome_unknown=outcome_unknown)
        self.code = code


class SlackChannel(Channel):
    """One Slack channel, posted to by a bot (see the module docstring for the config)."""

    type_name = "slack"
    required_options = ("token", "channel")
    optional_options = ("reply_broadcast",)
    secret_options = ("token",)  # a bot token posts as the app in every channel it is in
    default_api_url = "https://slack.com/api/"  # the Web API root; slack-sdk appends method names
    payload_media_type = SLACK_BLOCKS  # what is sent: blocks and fallback texts, all mrkdwn
    # The status-card edit is cosmetic: bound it so it cannot eat the budget the engine
    # gives a send and turn a delivered reply into a failure (and a duplicate on retry).
    card_edit_timeout = 5.0
    keeps_a_summary = True  # the thread's first message becomes the incident's status card
    list_page_size = 200  # conversations.list page; Slack recommends at most 200
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._web: WebClient | None = None
        self._named: str | None = None  # the id the channel's name led to at this process's last post by name

    # -- config ---------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        token = options.get("token")
        if not hasattr(token, "reveal"):
            raise ConfigError(
                f"{where}token: must name an environment variable holding the bot token, "
                'e.g. token = "${SLACK_BOT_TOKEN}" (the xoxb-... token from your Slack app\'s '
                "OAuth & Permissions page)."
            )
        channel = options.get("channel")
        if not isinstance(channel, str) or not (
            _CHANNEL_ID.match(channel) or _CHANNEL_NAME.match(channel)
        ):
            raise ConfigError(
                f'{where}channel: must be a channel id such as "C0123ABCD" (in Slack: '
                f'channel name > About > Channel ID) or a name such as "#status", not {channel!r}.'
            )
        broadcast = options.get("reply_broadcast", True)
        if not isinstance(broadcast, bool):
            raise ConfigError(f"{where}reply_broadcast: must be true or false, not {broadcast!r}.")

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        channel = str(options["channel"])
        if _CHANNEL_ID.match(channel):
            return [(("slack", channel), channel)]
        # A name means one channel within one workspace: the same token's, at least.
        token = options.get("token")
        workspace = (token.reveal_or_empty() or f"${token.env_var}") if isinstance(token, Secret) else ""
        return [(("slack-name", workspace, channel.removeprefix("#").lower()), channel)]

    @classmethod
    def post_chat_key(cls, remote_id: str) -> tuple[str, ...] | None:
        found = _REMOTE_ID.match(remote_id or "")
        return ("slack", found.group(1)) if found else None

    @property
    def channel(self) -> str:
        return str(self.config.options["channel"])

    # -- rooms ------------------------------------------------------------------------

    def room_names(self) -> tuple[str, ...]:
        return (self.channel,)

    def room(self, written: str) -> str | None:
        return f"slack:{written}" if _CHANNEL_ID.match(written) else None

    cache_key_needs_secret = True

    def room_cache_key(self, written: str) -> str:
        # A name means a channel within one workspace: the token's (kept as a digest, never the token).
        account = hashlib.sha256(f"{self.api_url}\0{self.secret('token')}".encode()).hexdigest()[:16]
        return f"slack:{account}:{written.removeprefix('#').lower()}"

    async def lookup_room(self, written: str) -> str:
        """conversations.list, as Slack itself resolves a ``#name`` given to chat.postMessage."""
        info = await self._find_channel_by_name(written.removeprefix("#").lower())
        return f"slack:{info['id']}" if info and info.get("id") else ""

    @property
    def reply_broadcast(self) -> bool:
        return bool(self.config.options.get("reply_broadcast", True))

    @property
    def token_variable(self) -> str:
        return (
            getattr(self.config.options.get("token"), "env_var", "")
            or "the token's environment variable"
        )

    # -- render -----------------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        """Blocks and fallback text for the post, plus what the first message becomes after it."""
        return Rendered(
            text=fmt.preview(view),
            visibility=view.visibility,
            payload={
                "blocks": fmt.update_blocks(view),
                "text": fmt.fallback_text(view),
                "card_blocks": fmt.card_blocks(view),
                "card_text": fmt.card_text(view),
                "status_changed": view.status_changed,
                # Which update it is, and a correction which it corrects, as its readers count them: whether a
                # corrected first message is still that update, or the card of a later one (``edit``).
                "key": view.key,
                "corrects": view.corrects_key,
            },
        )

    # -- send / edit --------------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        log = log if log is not None else SendLog()
        if log.parts:  # posted by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0], starts_thread=log.starts_thread)
        if thread is None:
            return await self._post(rendered, log, channel=self.channel)
        channel_id, parent_ts = self.parse_remote_id(thread.first_remote_id)
        broadcast = self.reply_broadcast and bool(rendered.payload.get("status_changed"))
        try:
            receipt = await self._post(
                rendered, log, channel=channel_id, thread_ts=parent_ts, broadcast=broadcast
            )
        except SlackDeliveryError as exc:
            if exc.code != "thread_not_found":
                raise
            return await self._post_orphan(rendered, channel_id, log)
        note = await self._refresh_card(rendered, channel_id, parent_ts)
        return Receipt(receipt.remote_id, notes=(note,) if note else ())

    async def edit(
        self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None
    ) -> Receipt:
        """chat.update of the corrected post, then of the status card; repeating either is harmless, so a lost
        answer is retried, not unknown.

        Once the thread has a reply, its first message is the status card, which quotes the latest update: it is
        redone from the incident as these readers now read it (``payload["now"]``), the text a correction took
        back must not stay there. A correction of update 1 then leaves the card be the card, never update 1 as
        posted (a resolved incident would read "Investigating" for good).
        """
        channel_id, ts = self.parse_remote_id(remote_id)
        first, latest = _thread_ends(rendered)
        if first == remote_id and _is_the_card(rendered, first, latest):
            return Receipt(remote_id, notes=await self._update_card(rendered, channel_id, ts))
        try:
            await self._update(channel_id, ts, rendered.payload["blocks"], rendered.payload["text"])
        except SlackDeliveryError as exc:
            # As Discord and Telegram: the engine posts the correction anew, in the thread. A failure for good held
            # back every later update to this channel, and `retry` met the same refusal.
            if exc.code not in _CARD_GONE:
                raise
            still = ("deleted?" if exc.code == "message_not_found" else
                     "it is still up, uncorrected: correct or delete it by hand in Slack")
            raise NotEditable(PostedAnew(f"could not edit Slack message {remote_id} ({exc.code}; {still})")
                              .redacted(self.redact)) from exc
        if not first or first == remote_id:
            return Receipt(remote_id)
        return Receipt(remote_id, notes=await self._update_card(rendered, *self.parse_remote_id(first)))

    async def _update(self, channel_id: str, ts: str, blocks: Any, text: str) -> None:
        """chat.update, its every failure repeatable: an edit done twice shows nothing twice."""
        try:
            await self._call(
                "chat.update",
                lambda web: web.chat_update(channel=channel_id, ts=ts, blocks=blocks, text=text, **_AS_WRITTEN),
                channel=channel_id,
            )
        except SlackDeliveryError as exc:
            exc.outcome_unknown = False
            raise

    async def _update_card(self, rendered: Rendered, channel_id: str, ts: str) -> tuple[str, ...]:
        """The status card after a correction, from the incident now (never from the corrected update: it may not
        be the latest, nor its status the current one). Failing, the correction fails, to be retried whole: a card
        left as it was may still show the text the correction took back. A card gone (deleted) is only noted."""
        now = rendered.payload.get("now")
        if not now:
            return ()
        try:
            await self._update(channel_id, ts, now["card_blocks"], now["card_text"])
        except SlackDeliveryError as exc:
            if exc.code in _CARD_GONE:
                return (f"the incident's first Slack message, its status card, could not be refreshed ({exc.code}): "
                        "deleted, or no longer the bot's to edit",)
            raise self._error(f"The correction is in the thread, but its status card (the thread's first message) "
                              f"still shows the text before it: {exc} `broadcaster retry` redoes both.",
                              retryable=exc.retryable, retry_after=exc.retry_after, code=exc.code) from exc
        return ()

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """chat.delete for each message (a bot token deletes the bot's own); one already gone counts as deleted."""

        async def delete_one(remote_id: str) -> None:
            channel_id, ts = self.parse_remote_id(remote_id)
            try:
                await self._call("chat.delete", lambda web: web.chat_delete(channel=channel_id, ts=ts), channel=channel_id)
            except SlackDeliveryError as exc:
                if exc.code == "message_not_found":
                    return
                raise

        return await self.delete_each(remote_ids, delete_one)

    def remote_location(self, remote_id: str) -> str | None:
        found = _REMOTE_ID.match(remote_id or "")
        return found.group(1) if found else None

    def names_its_location(self) -> bool:
        return bool(_CHANNEL_ID.match(self.channel))  # "#acme-status": only Slack knows its id

    def posted_here(self, remote_id: str, target: str) -> bool:
        where = self.remote_location(remote_id)
        if where is None:
            return True
        if self.names_its_location():
            return where == self.channel
        # By name: where a post made by that name last went. Not known (a table renamed to a name it has not
        # posted by yet, a store from before this was kept): no earlier post counts, so the update starts a
        # thread by name, and a correction is posted rather than edited. Never a reply in the channel a table
        # left; a reply to a thread that is not in the channel, Slack may take and show nowhere.
        if self.rooms is None:
            return True  # nothing to ask: as before
        known = self._remembered_named()
        return known is not None and where == known

    def remote_id_from(self, reference: str, target: str) -> str:
        """``C0123:1700000000.000100``, or a message link (``.../archives/C0123/p1700000000000100``)."""
        from broadcaster.errors import InputError

        text = reference.strip()
        linked = message_linked(text)
        if linked:
            text = linked
        elif re.fullmatch(r"[0-9]+\.[0-9]+", text) and _CHANNEL_ID.match(self.channel):
            text = f"{self.channel}:{text}"
        found = _REMOTE_ID.match(text)
        if not found:
            raise InputError(
                f"{reference!r} is not a Slack message: give its link (the message's Copy link, "
                ".../archives/C0123ABCD/p1700000000000100) or channel-id:ts."
            )
        if _CHANNEL_ID.match(self.channel) and found.group(1) != self.channel:
            # Corrections edit the message in the channel its id names: another channel's (a public
            # one's, pasted by mistake) would get this channel's text.
            raise InputError(
                f"{reference!r} is a message in channel {found.group(1)}, not in {self.channel}, where this "
                "delivery went. Copy the link of the message in that channel."
            )
        return text

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """Where the message is, asked of Slack (chat.getPermalink, which needs no scope: a reply's link names its
        thread): a link to a reply in another incident's thread, or a message no one made, was recorded as this
        update's post, and later corrections edited it. A message that is not there, a reply in another thread than
        the incident's, a reply given for a post that went at top level, or one at top level for a reply, are refused.
        Whose message it is Slack does not tell without reading the channel's history (a scope the bot lacks)."""
        from broadcaster.errors import InputError

        channel_id, ts = self.parse_remote_id(remote_id)
        try:
            data = await self._call("chat.getPermalink", lambda web: web.chat_getPermalink(
                channel=channel_id, message_ts=ts), channel=channel_id)
        except SlackDeliveryError as exc:
            if exc.code == "message_not_found":
                raise InputError(f"Slack has no message {remote_id} (deleted, or the link was mistyped), so later "
                                 "updates could not reply under it. Check the link; nothing was stored or sent.") from exc
            raise InputError(f"could not ask Slack where message {remote_id} is ({exc}) Nothing was stored or sent; "
                             "run the command again once Slack answers.") from exc
        parent = _thread_ts_in(str(data.get("permalink") or ""))
        in_thread = parent if parent and parent != ts else ""
        problem = _not_where_it_went(in_thread, replies_to)
        if problem:
            raise InputError(f"Slack message {remote_id} {problem}: later updates would thread, and corrections edit, "
                             "there. Copy the link of this update's own message; nothing was stored or sent.")
        return remote_id

    async def _post(
        self,
        rendered: Rendered,
        log: SendLog,
        *,
        channel: str,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Receipt:
        def request(web: WebClient) -> Any:
            return web.chat_postMessage(
                channel=channel,
                text=rendered.payload["text"],
                blocks=rendered.payload["blocks"],
                thread_ts=thread_ts,
                reply_broadcast=broadcast if thread_ts else None,
                # Never let Slack turn text into mentions or previews: it is the operator's, verbatim.
                link_names=False,
                unfurl_links=False,
                unfurl_media=False,
            )

        log.sending()
        data = await self._call("chat.postMessage", request, channel=channel)
        if not data.get("channel") or not data.get("ts"):
            # "ok" without the message: not Slack's answer (a gateway's own), and the post may be up.
            raise self._garbled("chat.postMessage", "it said ok but named no message")
        remote_id = f"{data['channel']}:{data['ts']}"
        log.confirmed(remote_id)
        if channel == self.channel and not self.names_its_location():
            self._remember_named(str(data["channel"]))
        return Receipt(remote_id)

    async def _post_orphan(self, rendered: Rendered, channel_id: str, log: SendLog) -> Receipt:
        """The thread's first message is not there (deleted, or the table names another channel now):
        post at top level rather than lose the update. That post starts the thread anew: later follow-ups reply
        under it and make it the status card (each went top level, the card never refreshed). Said to the log before
        the request leaves: however the post is recorded later (resumed, cut by the deadline, marked sent by hand),
        it is recorded as the thread's first."""
        log.starting_thread()
        receipt = await self._post(rendered, log, channel=channel_id)
        note = ("the incident's first Slack message is not in this channel (deleted, or the table now names "
                "another channel): posted at top level instead")
        return Receipt(receipt.remote_id, notes=(note,), starts_thread=True)

    async def _refresh_card(self, rendered: Rendered, channel_id: str, parent_ts: str) -> str:
        """Edit the first message to show the current status; a failure is a note, not an error.

        A correction posted as a reply carries the incident as it now reads (``payload["now"]``): the card shows
        that, never the correction of an older update as the latest one."""
        import asyncio
        payload = rendered.payload.get("now") or rendered.payload

        def request(web: WebClient) -> Any:
            return web.chat_update(channel=channel_id, ts=parent_ts, blocks=payload["card_blocks"],
                                   text=payload["card_text"], **_AS_WRITTEN)

        problem = ""
        limit = min(self.card_edit_timeout, self.request_timeout)
        try:
            await asyncio.wait_for(
                self._call("chat.update", request, channel=channel_id),
                timeout=limit,
            )
        except DeliveryError as exc:
            problem = str(exc)
        except TimeoutError:
            problem = f"Slack did not answer within {limit:g}s"
        if not problem:
            return ""
        log.info("slack %s: status card not updated: %s", self.name, problem)
        return self.redact(
            f"posted in the thread, but the first message still shows an older status: {problem}"
        )

    # -- check ----------------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """auth.test, then the channel: does it exist, is it archived, is the bot in it."""
        try:
            who = await self._call("auth.test", lambda web: web.auth_test())
        except DeliveryError as exc:
            return [CheckResult(self.name, self.channel, False, str(exc))]
        identity = CheckResult(
            self.name,
            "",
            True,
            f"token works: bot @{who.get('user', '?')} in workspace {who.get('team', '?')}",
        )
        return [identity, await self._check_channel(str(who.get("user", "your-bot")))]

    async def _check_channel(self, bot: str) -> CheckResult:
        try:
            info = await self._find_channel()
        except DeliveryError as exc:
            return CheckResult(self.name, self.channel, False, str(exc))
        if info is None:
            return CheckResult(self.name, self.channel, False, self._not_found_message())
        label = f"#{info.get('name', '?')} ({info.get('id', '?')})"
        if info.get("is_archived"):
            return CheckResult(
                self.name,
                self.channel,
                False,
                f"{label} is archived. Unarchive it or set channel to another one.",
            )
        if not info.get("is_member"):
            return CheckResult(
                self.name,
                self.channel,
                False,
                f"{label} exists but the bot is not in it. In Slack, run /invite @{bot} there.",
            )
        return CheckResult(
            self.name, self.channel, True, f"{label}: the bot is a member and can post",
            resolved=f"slack:{info.get('id', '')}" if info.get("id") else "",
        )

    async def _find_channel(self) -> dict[str, Any] | None:
        if _CHANNEL_ID.match(self.channel):
            try:
                data = await self._call("conversations.info", lambda web: web.conversations_info(channel=self.channel))
            except SlackDeliveryError as exc:
                if exc.code == "channel_not_found":
                    return None
                raise
            return dict(data.get("channel") or {})
        return await self._find_channel_by_name(self.channel.removeprefix("#"))

    def _list_page(self, cursor: str, web: WebClient) -> Any:
        return web.conversations_list(types="public_channel,private_channel", limit=self.list_page_size,
                                      cursor=cursor or None)

    def _remembered_named(self) -> str | None:
        if self._named:
            return self._named
        room = self.rooms.remembered_room(self._named_key()) if self.rooms is not None else None
        return room.removeprefix("slack:") if room else None

    def _named_key(self) -> str:
        """Where this table's name led, kept per table and name: not per token as ``room_cache_key`` is, so a
        rotated token (Slack's expire every 12 hours when rotation is on) does not forget it."""
        return f"slack-named:{self.name}:{self.channel.removeprefix('#').lower()}"

    def _remember_named(self, channel_id: str) -> None:
        """Where a post made by name went: the freshest word on where the name leads (a channel renamed
        and its name reused is followed from the next post by name on). After the post is confirmed, and
        never its failure: a store busy for a moment must not turn a post that went out into a failed one."""
        self._named = channel_id
        if self.rooms is None:
            return
        try:
            self.rooms.remember_room(self._named_key(), f"slack:{channel_id}")
        except Exception as exc:  # noqa: BLE001 - a cache: the next post by name writes it again
            log.warning("Could not remember which channel %s is (%s); the next post by name does.", self.channel, exc)

    async def _find_channel_by_name(self, name: str) -> dict[str, Any] | None:
        cursor = ""
        for _page in range(100):  # 20,000 channels; a bound, so a server bug cannot loop forever
            data = await self._call("conversations.list", partial(self._list_page, cursor))
            for info in data.get("channels") or []:
                if info.get("name") == name:
                    return dict(info)
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    # -- client and errors -----------------------------------------------------------------

    def _client(self) -> WebClient:
        """The SDK client, built on first use (cheap: no connection is made); it never follows a redirect."""
        if self._web is None:
            try:
                token = self.secret("token")
            except ConfigError as exc:
                raise SlackDeliveryError(str(exc), retryable=False, code="no_token") from exc
            self._web = _unredirected_client_class()(
                token=token,
                base_url=self.api_url,
                timeout=max(1, int(self.request_timeout)),
                # No retry handlers: the engine owns retries and backoff. The SDK's default
                # handler silently re-sends after a connection reset, which can post a message
                # twice when the reset came after Slack had stored the first one.
                retry_handlers=[],
            )
        return self._web

    async def aclose(self) -> None:
        self._web = None  # urllib keeps no connection open between requests

    @staticmethod
    def parse_remote_id(remote_id: str) -> tuple[str, str]:
        """``"C0123:1700000000.000100"`` -> ``("C0123", "1700000000.000100")``."""
        found = _REMOTE_ID.match(remote_id or "")
        if not found:
            raise SlackDeliveryError(
                f"the stored Slack message id {remote_id!r} is not '<channel id>:<ts>', so this "
                "update cannot be threaded. Was the state database edited by hand?",
                retryable=False,
                code="bad_remote_id",
            )
        return found.group(1), found.group(2)

    async def _call(
        self, method: str, request: Callable[[WebClient], Any], *, channel: str = ""
    ) -> dict[str, Any]:
        """Run one SDK request in a worker thread (never waited for past the deadline); every failure becomes a
        SlackDeliveryError."""
        import http.client

        from slack_sdk.errors import SlackApiError

        web = self._client()
        try:
            response = await off_the_loop(request, web)
        except SlackApiError as exc:
            raise self._api_error(method, exc, channel or self.channel) from exc
        except (OSError, http.client.HTTPException) as exc:  # urllib's URLError and TimeoutError are OSErrors
            raise self._network_error(method, exc) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _error(
        self,
        message: str,
        *,
        retryable: bool,
        code: str,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> SlackDeliveryError:
        return SlackDeliveryError(
            self.redact(message),
            retryable=retryable,
            retry_after=retry_after,
            code=code,
            outcome_unknown=outcome_unknown,
        )

    @staticmethod
    def _may_be_done(method: str) -> str:
        """What a request with no clear answer may have done: a read (a channel looked up) changed nothing, and
        "may or may not have been done" there would send the operator looking for a post that cannot exist."""
        return "" if method in _READS else ", so it may or may not have been done"

    def _network_error(self, method: str, exc: BaseException) -> SlackDeliveryError:
        """Slack has no idempotency key: unless no connection was made, the request may have arrived."""
        import http.client
        import socket
        import urllib.error

        reason = exc.reason if isinstance(exc, urllib.error.URLError) else None
        if isinstance(reason, str) and reason.startswith("unknown url type"):
            # urllib's own refusal (its UnknownHandler), before any connection: a proxy of a scheme it cannot use.
            return self._error(
                f"Slack {method} was not sent: urllib cannot use the proxy ({reason}). Give HTTPS_PROXY (or "
                "HTTP_PROXY) an http:// proxy, since Slack's client takes no socks5://, or list Slack's host in NO_PROXY.",
                retryable=False, code="proxy",
            )
        cause = reason.__cause__ if isinstance(reason, _NotConnected) else reason
        if isinstance(cause, ConnectionRefusedError | socket.gaierror):
            what = f"could not connect to {self.api_url} (check the network, a proxy, or api_url)"
            return self._error(f"Slack {method} failed: {what}.", retryable=True, code="network")
        if isinstance(reason, _NotConnected):
            # Raised while the connection was made (TCP, a proxy's CONNECT tunnel, TLS): no byte of the request
            # was written, so Slack never saw it. A SOCKS proxy answers urllib's "CONNECT" by hanging up.
            proxy = self._web.proxy if self._web is not None else None
            socks = " (a socks:// proxy cannot be used: Slack's client speaks only HTTP to a proxy)" if (
                isinstance(proxy, str) and proxy.lower().startswith("socks")) else ""
            return self._error(
                f"Slack {method} was not sent: could not connect to {self.api_url}"
                f"{' through the proxy' if proxy else ''} ({reason}){socks}. Check the network, HTTPS_PROXY "
                "(give it an http:// proxy, or list Slack's host in NO_PROXY) and api_url.",
                retryable=True, code="network",
            )
        if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
            what = f"no answer within {self.request_timeout:g}s"
        elif isinstance(exc, ConnectionError | http.client.HTTPException) or isinstance(reason, ConnectionError):
            what = "the connection was reset or closed before Slack answered"
        else:
            what = f"{type(exc).__name__}: {exc}"
        return self._error(
            f"Slack {method} failed: {what}{self._may_be_done(method)}.",
            retryable=True,
            code="network",
            outcome_unknown=method not in _READS,
        )

    def _api_error(self, method: str, exc: SlackApiError, channel: str) -> SlackDeliveryError:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        code = str(data.get("error") or "")
        if 300 <= status < 400:
            return self._redirected(method, status, getattr(response, "headers", None) or {})
        if 200 <= status < 300 and (not code or code.startswith(_NOT_JSON)):
            # Slack's own refusals come as 200 with {"ok": false, "error": code}; a 2xx without one is
            # not Slack's answer (a proxy's page), and the request may have been done.
            return self._garbled(method, f"HTTP {status}: {code or 'no error code'}")
        if status == 429 or code in _RATE_LIMITED:
            return self._rate_limited(method, response)
        if status == 503 or code in _SLACK_SIDE_NOT_DONE:
            return self._error(
                f"Slack could not take {method} for now (HTTP {status}{', ' + code if code else ''}); "
                "if it persists, see https://slack-status.com.",
                retryable=True,
                code=code or f"http_{status}",
            )
        if status >= 500 or code in _SLACK_SIDE_MAYBE_DONE:
            return self._error(
                f"Slack had a problem of its own answering {method} "
                f"(HTTP {status}{', ' + code if code else ''}){self._may_be_done(method)}; "
                "if it persists, see https://slack-status.com.",
                retryable=True,
                code=code or f"http_{status}",
                outcome_unknown=method not in _READS,
            )
        return self._error(
            self._refusal(method, code, data, channel),
            retryable=False,
            code=code or f"http_{status}",
        )

    def _garbled(self, method: str, what: str) -> SlackDeliveryError:
        """A 2xx that is not Slack's answer: Slack has no idempotency key, so a repeat could post twice."""
        return self._error(
            f"Slack's answer to {method} was not the Web API's ({what}): a proxy between broadcaster and "
            f"Slack may have answered for it{self._may_be_done(method)}. Check api_url "
            f"({self.api_url}) and any proxy.",
            retryable=True,
            code="garbled_answer",
            outcome_unknown=method not in _READS,
        )

    def _redirected(self, method: str, status: int, headers: Mapping[str, str]) -> SlackDeliveryError:
        """A 3xx, never followed: urllib would resend the bot token to wherever it points."""
        location = next((str(v) for k, v in headers.items() if k.lower() == "location"), "")
        return self._error(
            redirect_refused(f"Slack's API at {self.api_url} answered {method} (HTTP {status})", location,
                             "the bot token", f"Fix api_url in [channels.{self.name}]: remove it to use "
                             f"{self.default_api_url}, or give the address that answers itself."),
            retryable=False,
            code=f"http_{status}",
        )

    def _rate_limited(self, method: str, response: Any) -> SlackDeliveryError:
        headers = getattr(response, "headers", None) or {}
        retry_after = _wait.honoured(headers.get("Retry-After"))  # Infinity, NaN, 1e300: never said as a number
        return self._error(
            f"Slack rate-limited {method} (HTTP 429, {_wait.said(retry_after)}).",
            retryable=True,
            retry_after=retry_after,
            code="ratelimited",
        )

    def _refusal(self, method: str, code: str, data: Mapping[str, Any], channel: str) -> str:
        """What went wrong and what to do, for errors that retrying will not fix."""
        key = "bad_token" if code in _BAD_TOKEN else "bad_content" if code in _BAD_CONTENT else code
        template = _REFUSALS.get(key, _REFUSALS["other"])
        detail = "; ".join(str(e) for e in (data.get("errors") or [])[:3])
        return template.format(
            code=code or "no error code",
            method=method,
            channel=channel,
            name=self.name,
            var=self.token_variable,
            needed=data.get("needed") or "a",
            detail=f": {detail}" if detail else "",
        )

    def _not_found_message(self) -> str:
        return self._refusal("conversations.info", "channel_not_found", {}, self.channel)


def message_linked(text: str) -> str | None:
    """The remote id (``C0123:1700000000.000100``) a Slack message link names, read whole, or None: scheme and host in
    any case, a workspace's host under slack.com, and of the query only Slack's own ``thread_ts`` and ``cid`` (naming
    the path's channel), each once; the fragment dropped. Which thread the message is in Slack says
    (``checked_post_id``), never the link's ``thread_ts``."""
    from urllib.parse import parse_qsl, urlsplit

    if not text.isascii() or not text.isprintable():
        return None  # urlsplit drops a tab or a line break inside a link, and reads what is left
    try:
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        return None
    found = _MESSAGE_PATH.match(parts.path)
    if (parts.scheme.lower() not in ("http", "https") or not _SLACK_HOST.match(parts.netloc.lower())
            or found is None):
        return None
    keys = [key for key, _ in query]
    values = dict(query)
    if len(keys) != len(set(keys)) or set(keys) - {"thread_ts", "cid"}:
        return None
    if values.get("cid", found.group("channel")) != found.group("channel") or not _TS.match(values.get("thread_ts", "0.0")):
        return None
    digits = found.group("digits")
    return f"{found.group('channel')}:{digits[:-6]}.{digits[-6:]}"


def _thread_ts_in(permalink: str) -> str:
    """The ``thread_ts`` of a permalink Slack gave (a reply's: its thread's first message), or ""."""
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(permalink).query).get("thread_ts") or [""])[0]


def _not_where_it_went(in_thread: str, replies_to: str | None) -> str:
    """Why a message in ``in_thread`` ("" at top level) is not where the update went (``replies_to``, as
    ``Channel.checked_post_id`` says it), or ""."""
    if replies_to is None:
        return ""
    if not replies_to:
        return (f"is a reply in the thread of message {in_thread}, and this update went at top level (it started its "
                "thread)") if in_thread else ""
    expected = replies_to.partition(":")[2]
    if not in_thread:
        return f"is at top level, not a reply in this incident's thread (under message {expected})"
    if in_thread != expected:
        return f"is a reply in another thread (under message {in_thread}) than this incident's (under message {expected})"
    return ""


def _thread_ends(rendered: Rendered) -> tuple[str, str]:
    """The remote ids of the first and latest posts of an edit's thread (the engine's ``payload["thread"]``); ""
    for both when it gave none."""
    ends = rendered.payload.get("thread") or ("", "")
    return str(ends[0] or ""), str(ends[1] or "")


def _is_the_card(rendered: Rendered, first: str, latest: str) -> bool:
    """Whether a correction's post, the thread's ``first`` message, is the status card now: the thread has a later
    post (``latest``), or its readers were told a later update than the one corrected (when an earlier correction
    of it is the thread's latest post, ``latest`` is the first message again)."""
    now = rendered.payload.get("now") or {}
    return latest != first or (bool(now) and now.get("key") != rendered.payload.get("corrects"))


class _NotConnected(OSError):
    """A request that failed while its connection was being made, before any byte of it was written: Slack
    cannot have seen it. urllib hands it on as a URLError's ``reason``; the failure itself is its cause."""


@cache
def _unredirected_client_class() -> type[WebClient]:
    """slack-sdk's ``WebClient``, answering a 3xx with the 3xx instead of following it.

    urllib's default redirect handler follows 301/302/303 for a POST (as a GET) and copies every header
    but ``Content-*``: the ``Authorization: Bearer xoxb-...`` header would go to the host the redirect
    names. slack-sdk takes no opener, so this replaces the one method that opens the URL; the rest
    (headers, the body's parsing, errors) stays the SDK's. Defined on first use: it imports slack-sdk.
    """
    import http.client
    import ssl
    import urllib.request

    from slack_sdk import WebClient
    from slack_sdk.errors import SlackRequestError

    class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # urllib then raises the 3xx as an HTTPError, which slack-sdk turns into an answer

    # Connections that tell a failure to connect from one later: http.client writes nothing of the request
    # before ``connect`` (TCP, then a proxy's CONNECT tunnel, then TLS) returns.
    class _MarkingHTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            try:
                super().connect()
            except Exception as exc:
                raise _NotConnected(f"{type(exc).__name__}: {exc}") from exc

    class _MarkingHTTPSConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            try:
                super().connect()
            except Exception as exc:
                raise _NotConnected(f"{type(exc).__name__}: {exc}") from exc

    class _MarkingHTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_MarkingHTTPConnection, req)

    class _MarkingHTTPSHandler(urllib.request.HTTPSHandler):
        def __init__(self, context: ssl.SSLContext | None) -> None:
            super().__init__(context=context)
            self.ssl_context = context  # urllib's own copy is private (``_context``)

        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_MarkingHTTPSConnection, req, context=self.ssl_context)

    class _UnredirectedWebClient(WebClient):
        def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
            if not url.lower().startswith("http"):  # as slack-sdk: never file:// or ftp://
                raise SlackRequestError(f"Invalid URL detected: {url}")
            handlers: list[urllib.request.BaseHandler] = [
                _RefuseRedirects(), _MarkingHTTPHandler(), _MarkingHTTPSHandler(context=self.ssl)
            ]
            if self.proxy:  # slack-sdk reads HTTPS_PROXY and the like into it
                handlers.append(urllib.request.ProxyHandler({"http": self.proxy, "https": self.proxy}))
            response = urllib.request.build_opener(*handlers).open(req, timeout=self.timeout)
            charset = response.headers.get_content_charset() or "utf-8"
            body = response.read().decode(charset, errors="replace")
            return {"status": response.code, "headers": response.headers, "body": body}

    return _UnredirectedWebClient
