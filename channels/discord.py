"""Discord: an incoming webhook posting each update as an embed.

Config (``[channels.NAME]`` with ``type = "discord"``)::

    webhook_url = "${DISCORD_WEBHOOK_URL}"  # Server Settings > Integrations > Webhooks > Copy Webhook URL; secret
    thread_id = "1234567890123456789"       # optional: post every update into this thread

Where follow-ups go: with ``thread_id``, every update goes into that thread.
In a forum channel (Discord refuses a post there without a thread), the first
update opens a post titled with the incident and later ones reply in it. In a
text channel a webhook cannot open threads, so updates follow one another in
the channel, each headed "Update N".

Amend edits the webhook's message in place (Discord keeps no visible history
of a webhook edit). One it cannot edit (another webhook's, or gone) raises
``NotEditable``: the engine posts the correction as a new message instead,
rendered as a new post (the incident as it stands, never the original's status
and "next update by" repeated as if said now). ``allowed_mentions`` is empty on every request, the edits
included: Discord re-parses mentions of an edited text otherwise.

Discord has no idempotency key: a post whose answer was lost is ``unknown``
(see ``broadcaster retry``), never sent again blindly. Posts use ``?wait=true``,
so Discord answers with the message (its id) or an error, never a silent drop.

A remote id is the message id, or ``"<thread id>:<message id>"`` for a message
in a thread, since editing or replying there needs both, then ``"@<webhook id>"``:
the webhook that posted it. A webhook edits and deletes only its own messages, and
Discord answers it for another's as for a message deleted (404, code 10008); after
the webhook is replaced (the advice for a leaked URL), the posts of the old one
would be called deleted while they stay up. Ids stored before carry no webhook:
a 10008 for one of them says it may still be up. A withdrawal that deleted some
posts and not another webhook's keeps those it deleted (``DeliveryError.deleted``):
its retry with that webhook's URL put back asks only about the rest.

A webhook cannot delete a thread: a withdrawn forum post loses its first message
and keeps its title (the incident's), which the operator is told to delete by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from broadcaster.channels._http import MASK, Answer, HttpChannel, HttpPoster, split_secret_url
from broadcaster.messages import discord as fmt
from broadcaster.messages.preview import preview
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import ChannelConfig, Secret
from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError, NotEditable

_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
_WEBHOOK_PATH = lazy_re.compile(r"^/api(?:/v\d+)?/webhooks/(?P<id>\d{5,25})/(?P<token>[A-Za-z0-9_\-]{20,200})/?$")
_SNOWFLAKE = lazy_re.compile(r"^\d{5,25}$")
_REMOTE_ID = lazy_re.compile(r"^(?:(?P<thread>\d{5,25}):)?(?P<message>\d{5,25})(?:@(?P<webhook>\d{5,25}))?$")
_URL_FORM = "https://discord.com/api/webhooks/<id>/<token>"
# A message's link as Discord copies it (Copy Message Link): /channels/<guild>/<channel or thread>/<message>.
_MESSAGE_PATH = lazy_re.compile(r"^/channels/(?P<guild>[0-9]{5,25})/(?P<channel>[0-9]{5,25})/(?P<message>[0-9]{5,25})/?$")

# Discord's JSON error codes (developers/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027
FORUM_NEEDS_THREAD = 220001

FORUM_POST_STAYS = (
    "the forum post this incident opened (thread {thread}) stays in the forum under its title, the incident's, "
    "over \"Original message was deleted\": a webhook cannot delete a forum post. Delete it by hand in Discord "
    "(right-click the post > Delete Post)"
)
_MAYBE_ANOTHERS = (
    "Discord knows no message {message} of this webhook: deleted already, or posted by a webhook replaced since "
    "(a webhook deletes only its own messages). If it is still up, delete it by hand in Discord"
)


class DiscordChannel(HttpChannel):
    """One Discord channel (or forum, or thread), posted to by an incoming webhook."""

    type_name = "discord"
    required_options = ("webhook_url",)
    optional_options = ("thread_id",)
    secret_options = ("webhook_url",)  # the URL holds the webhook's token: anyone with it can post
    default_api_url = "https://discord.com/api"  # api_url replaces the webhook URL's scheme://host/api
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._webhook_id = ""  # of the URL the poster was made from: it names the messages it posts
        self._linked_guilds: dict[str, str] = {}  # the server a link given to ``remote_id_from`` named, for its check

    # -- config -----------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        url = options.get("webhook_url")
        if isinstance(url, Secret) and not url.missing:
            _parse_webhook_url(url.reveal(), f"{where}webhook_url: ${{{url.env_var}}}")
        thread = options.get("thread_id")
        if thread is not None and not (isinstance(thread, str | int) and _SNOWFLAKE.match(str(thread))):
            raise ConfigError(
                f"{where}thread_id: must be a thread's id (digits, in quotes), not {thread!r}. In Discord, turn on "
                "Developer Mode, then right-click the thread > Copy Thread ID."
            )

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        # One webhook, one channel: its threads are read by the channel's readers too.
        return cls.url_key(options, "webhook_url", "discord", lambda url: _parse_webhook_url(url, "")[:1])

    @classmethod
    def delivery_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        thread = str(options.get("thread_id", ""))
        return [((*key, thread), written) for key, written in cls.target_keys(options)]

    @property
    def thread_id(self) -> str:
        value = self.config.options.get("thread_id")
        return str(value) if value is not None else ""

    @classmethod
    def secret_parts(cls, value: str) -> list[str]:
        """Of a secret value, the part that is the credential alone: a webhook URL's token, which an error may
        quote, and which the same webhook written another way holds too (canary.discord.com, discordapp.com, as
        Discord's clients copy it). ``Config.named_secrets`` asks here, so an update holding it is refused."""
        parts = split_secret_url(value)
        found = _WEBHOOK_PATH.match(parts.path) if parts is not None else None
        return [found.group("token")] if found else []

    # -- render -----------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        return Rendered(
            text=preview(view, "Discord"),
            visibility=view.visibility,
            payload={"body": fmt.message(view), "thread_name": fmt.thread_name(view)},
        )

    # -- send / edit ------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        log = log if log is not None else SendLog()
        if log.parts:  # posted by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0])
        in_thread = self.thread_id or (_parse_remote_id(thread.first_remote_id).thread if thread else "")
        body = dict(rendered.payload["body"])
        try:
            return await self._execute(body, in_thread, log)
        except _DiscordRefusal as exc:
            if exc.code == FORUM_NEEDS_THREAD and not in_thread:
                # A forum channel: nothing was posted. A first post known by its message id alone (settled by
                # `retry --mark-unknown-sent --remote-id`) is the forum post whose thread has that id: reply there.
                starter = _parse_remote_id(thread.first_remote_id).message if thread else ""
                starter_gone = False
                if starter:
                    try:
                        return await self._execute(body, starter, log)
                    except _DiscordRefusal as gone:
                        if gone.code != UNKNOWN_CHANNEL:
                            raise
                        # That forum post deleted: the one opened here starts the thread anew, as below. Recorded
                        # under the first post gone, each later update opened yet another forum post.
                        starter_gone = True
                        log.starting_thread()
                opened = await self._execute({**body, "thread_name": rendered.payload["thread_name"]}, "", log)
                if not starter_gone:
                    return opened
                note = "the incident's Discord forum post is gone (deleted?): opened it anew"
                return replace(opened, notes=(*opened.notes, note), starts_thread=True)
            if exc.code == UNKNOWN_CHANNEL and in_thread and not self.thread_id:
                # Posted as the incident's first is (a forum post of its own, or at top level), it starts the thread
                # anew: later updates go in it, never to the thread gone (each opened yet another forum post).
                log.starting_thread()
                receipt = await self.send(rendered, target=target, thread=None, log=log)
                note = "the incident's Discord thread is gone (deleted?): posted without it"
                return replace(receipt, notes=(*receipt.notes, note), starts_thread=True)
            raise

    async def _execute(self, body: dict[str, Any], thread: str, log: SendLog) -> Receipt:
        query = "?wait=true" + (f"&thread_id={thread}" if thread else "")
        answer = await self._client().post(self._url(query), _encoded(body), log)
        message = self._message(answer, may_post=True)
        if not message.get("id"):
            # With ?wait=true Discord answers every post with the message: a 2xx without one is not Discord's
            # (a proxy's page). The proxy may have kept the post or forwarded it and mangled the answer.
            raise self.fail(
                f"Discord's answer to the post held no message (HTTP {answer.status}: {answer.excerpt() or 'empty'}), "
                "so it came from something in front of Discord and the message may or may not have been posted. "
                f"Check {'api_url (' + self.config.api_url + ') and ' if self.config.api_url else ''}any proxy "
                "between broadcaster and Discord.",
                retryable=True,
                outcome_unknown=True,
            )
        remote_id = _remote_id(message, thread, self._webhook_id, opened="thread_name" in body)
        log.confirmed(remote_id)
        return Receipt(remote_id)

    async def edit(self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None) -> Receipt:
        """PATCH the message; repeating an edit shows nothing twice, so a lost answer is retried.

        A message another webhook posted cannot be edited by this one, nor one Discord does not find: raises
        ``NotEditable`` (nothing changed), for the engine to post the correction as a new message, rendered as
        one; its text, the outcome's note, says whether the original is still up."""
        posted = _parse_remote_id(remote_id)
        if self._posted_by_another(posted):
            raise NotEditable(PostedAnew(
                f"Discord message {posted.message} was posted by another webhook ({posted.webhook}) than the one "
                f"{self.source('webhook_url')} holds now (replaced since?), and a webhook edits only its own messages",
                then="the original is still up, uncorrected: correct or delete it by hand in Discord",
            ).redacted(self.redact))
        answer = await self._client().request(
            "PATCH", self._url(f"/messages/{posted.message}{_in_thread(posted)}"),
            body=_encoded(rendered.payload["body"]),
        )
        try:
            self._message(answer, may_post=False)
        except _DiscordRefusal as exc:
            # Its thread gone (a forum post deleted) is the message gone too: failed for good, the correction held
            # back every later update here, told to "check thread_id" that the config does not have.
            gone_with_its_thread = exc.code == UNKNOWN_CHANNEL and bool(posted.thread) and not self.thread_id
            if exc.code != UNKNOWN_MESSAGE and not gone_with_its_thread:
                raise
            # Stored before ids named their webhook: it may be a replaced webhook's.
            maybe_up = ("" if posted.webhook else "if it was posted by a webhook replaced since, it is still up, "
                        "uncorrected: correct or delete it by hand in Discord")
            raise NotEditable(PostedAnew(f"Discord message {posted.message} is gone (deleted?)", then=maybe_up)
                              .redacted(self.redact)) from exc
        return Receipt(remote_id)

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """DELETE each webhook message; one already gone (10008, or its thread gone: 10003) counts as deleted.

        A message another webhook posted fails for good, to delete by hand: Discord answers this webhook's DELETE
        of it with 10008 too, as though it were gone. Those this webhook deleted are kept by the engine
        (``DeliveryError.deleted``), so a retry with the other webhook's URL asks only about the rest. A forum
        post this incident opened stays (a webhook cannot delete a thread), titled with the incident: the
        receipt says so, to delete it by hand."""
        notes: list[str] = []

        async def delete_one(remote_id: str) -> bool:
            self._client()  # reads the webhook's id from its URL, failing as a send does when it is no webhook's
            why = self.not_deletable_here(remote_id, target)
            if why:  # never one this withdrawal deleted: the engine leaves those out (DeliveryError.deleted)
                raise self.fail(why, retryable=False)
            posted = _parse_remote_id(remote_id)
            answer = await self._client().request("DELETE", self._url(f"/messages/{posted.message}{_in_thread(posted)}"))
            gone = (UNKNOWN_MESSAGE, UNKNOWN_CHANNEL) if posted.thread else (UNKNOWN_MESSAGE,)
            not_found = answer.status == 404 and answer.field("code") in gone
            if 200 <= answer.status < 300 or not_found:
                maybe_anothers = not_found and not posted.webhook  # stored before ids named their webhook
                if maybe_anothers:
                    notes.append(_MAYBE_ANOTHERS.format(message=posted.message))
                if posted.opens_forum_post and not (not_found and answer.field("code") == UNKNOWN_CHANNEL):
                    notes.append(FORUM_POST_STAYS.format(thread=posted.thread))
                # One that may be another's is asked about again by a later attempt: its note is said with the end.
                return not maybe_anothers
            try:
                self._message(answer, may_post=False)
            except _DiscordRefusal as exc:
                raise self.fail(f"{exc} Delete message {posted.message} by hand in Discord.", retryable=False) from exc
            raise AssertionError("unreachable: _message raises for any answer but a 2xx")  # pragma: no cover

        receipt = await self.delete_each(remote_ids, delete_one)
        return replace(receipt, notes=(*receipt.notes, *dict.fromkeys(notes)))

    def left_after_delete(self, remote_ids: Sequence[str]) -> list[str]:
        """What deleting ``remote_ids`` leaves up, said before it is done (``withdraw --dry-run``): each forum
        post one of them opened. For the dry run to show once it asks the channel (it reads the store alone now)."""
        found = [_parse_remote_id(r) for r in remote_ids if _REMOTE_ID.match(r or "")]
        return list(dict.fromkeys(FORUM_POST_STAYS.format(thread=p.thread) for p in found if p.opens_forum_post))

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """A message another webhook posted (a webhook deletes only its own; Discord answers its DELETE of another's
        with 10008 too, as though it were gone), or a stored id that is no message id."""
        try:
            posted = _parse_remote_id(remote_id)
        except DeliveryError as exc:
            return str(exc)
        if not posted.webhook or posted.webhook == self._current_webhook():
            return ""
        return (f"Discord message {posted.message} was posted by another webhook ({posted.webhook}) than the "
                f"one {self.source('webhook_url')} holds now (replaced since?), and a webhook deletes only its "
                f"own messages: it is still up, unless deleted by hand. Delete message {posted.message} by "
                "hand in Discord (hover it > ... > Delete Message), or, if that webhook still exists, put its "
                "URL back and run `broadcaster retry`.")

    def _current_webhook(self) -> str:
        """The id of the webhook webhook_url names now, read from the URL alone (a dry run builds no client); "" where
        it names none, which a send or delete refuses by itself."""
        if not self._webhook_id:
            try:
                self._webhook_id = _parse_webhook_url(self.revealed("webhook_url"), self.source("webhook_url"))[0]
            except ConfigError:
                return ""
        return self._webhook_id

    def _posted_by_another(self, posted: _Posted) -> bool:
        """Whether a message names a webhook other than the one webhook_url names now (one it cannot act on)."""
        self._client()  # reads the webhook's id from its URL, failing as a send does when it is no webhook's
        return bool(posted.webhook) and posted.webhook != self._webhook_id

    def remote_id_from(self, reference: str, target: str) -> str:
        """A message id (Developer Mode > Copy Message ID), ``<thread id>:<message id>``, or the message's link (Copy
        Message Link: ``https://discord.com/channels/<guild>/<channel>/<message>``), read as ``<channel>:<message>``:
        whether that channel is the webhook's own or a thread of it, and whose message it is, Discord says
        (``checked_post_id``)."""
        text = reference.strip()
        linked = message_linked(text)
        if linked is not None:
            guild, in_channel, message = linked
            remote_id = f"{in_channel}:{message}"
            self._linked_guilds[remote_id] = guild
            return remote_id
        found = _REMOTE_ID.match(text)
        if not found:
            raise InputError(
                f"{reference!r} is not a Discord message: give its link (right-click the message > Copy Message Link: "
                "https://discord.com/channels/<server>/<channel>/<message>) or, with Developer Mode on, its id (Copy "
                "Message ID; for a message in a thread, <thread id>:<message id>)."
            )
        if not found.group("thread") and self.thread_id:
            return f"{self.thread_id}:{text}"
        return text

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """Whose message it is and where, asked of Discord: the webhook GETs its own message (another webhook's, or
        one not there, is 404 Unknown Message, as Discord answers both). Any id was taken before, and later
        corrections and withdrawals edited or deleted by it; a link's channel was not seen to be another server's,
        another channel's or another incident's thread. Returns ``[<thread id>:]<message id>@<webhook id>``, as
        broadcaster records its own posts."""
        posted = _parse_remote_id(remote_id)
        guild = self._linked_guilds.pop(remote_id, "")
        try:
            webhook = self._message(await self._client().request("GET", self._url("")), may_post=False)
        except (DeliveryError, ConfigError) as exc:
            raise InputError(f"could not ask Discord whose message {posted.message} is ({exc}) Nothing was stored or "
                             "sent; run the command again once Discord answers.") from exc
        if self._posted_by_another(posted):
            raise InputError(f"{remote_id!r} names a message of webhook {posted.webhook}, not of this webhook "
                             f"({self._webhook_id}): it edits and deletes only its own. Nothing was stored or sent.")
        own_channel = str(webhook.get("channel_id") or "")
        if guild and guild != str(webhook.get("guild_id") or ""):
            raise InputError(f"that link is to a message of another Discord server ({guild}) than the one this "
                             f"webhook posts in: copy the link of this update's own message. Nothing was stored or sent.")
        thread = "" if posted.thread == own_channel else posted.thread
        # Looked for only where a link or <thread>:<message> says it is: Discord's link names the message's own place.
        found = await self._own_message(posted.message, thread, _threads_to_try(posted.thread, posted.message, replies_to))
        place = str(found.get("channel_id") or "")
        thread = "" if place == own_channel else place
        problem = self._not_where_it_went(thread, posted.message, replies_to)
        if problem:
            raise InputError(f"Discord message {posted.message} {problem}: later updates would go, and corrections "
                             "edit, there. Copy the link of this update's own message; nothing was stored or sent.")
        return f"{thread}:{posted.message}@{self._webhook_id}" if thread else f"{posted.message}@{self._webhook_id}"

    async def _own_message(self, message: str, thread: str, threads: Sequence[str]) -> dict[str, Any]:
        """This webhook's message, asked in ``thread`` (the webhook's channel for ""), then in each of ``threads`` (a
        forum post known by its message id alone is in the thread of that id); ``InputError`` where it is in none."""
        for where in (thread, *threads):
            try:
                return self._message(await self._client().request(
                    "GET", self._url(f"/messages/{message}" + (f"?thread_id={where}" if where else ""))), may_post=False)
            except _DiscordRefusal as exc:
                if exc.code not in (UNKNOWN_MESSAGE, UNKNOWN_CHANNEL):
                    raise InputError(f"could not ask Discord whose message {message} is ({exc}) Nothing was stored "
                                     "or sent.") from exc
            except DeliveryError as exc:
                raise InputError(f"could not ask Discord whose message {message} is ({exc}) Nothing was stored or "
                                 "sent; run the command again once Discord answers.") from exc
        where = " or ".join(f"thread {t}" if t else "the channel it posts in" for t in (thread, *threads))
        raise InputError(f"this webhook has no message {message} in {where}: another webhook's or a person's (a "
                         "webhook edits and deletes only its own), deleted, or mistyped. Copy the link of this "
                         "update's own message; nothing was stored or sent.")

    def _not_where_it_went(self, thread: str, message: str, replies_to: str | None) -> str:
        """Why a message in ``thread`` ("" for the webhook's channel) is not where the update went, or ""."""
        if self.thread_id:
            expected = {self.thread_id}
        elif replies_to is None:
            return ""
        elif replies_to:
            first = _parse_remote_id(replies_to)
            expected = {first.thread} if first.thread else {"", first.message}
        else:
            expected = {"", message}  # the incident's first: in the channel, or the forum post it opened
        if thread in expected:
            return ""
        said = f"thread {thread}" if thread else "the channel itself"
        return f"is in {said}, not where this incident's updates go ({', '.join(sorted(t or 'the channel' for t in expected))})"

    def same_post(self, stored: str, given: str) -> bool:
        """The same message: an id given by hand names no webhook (nor, for a forum post's first message copied by
        its id alone, its thread), where broadcaster's own record names both."""
        try:
            kept, named = _parse_remote_id(stored), _parse_remote_id(given)
        except DeliveryError:
            return stored == given
        return kept.message == named.message and (not named.thread or named.thread == kept.thread) and (
            not named.webhook or named.webhook == kept.webhook)

    # -- rooms ------------------------------------------------------------------

    # Two webhooks (two URLs) may post into one channel: only Discord can say which channel each is.
    cache_key_needs_secret = True

    def room_names(self) -> tuple[str, ...]:
        return ("its webhook",)  # the URL is a secret: never written into a message

    def room_cache_key(self, written: str) -> str:
        return "discord:" + hashlib.sha256(self.revealed("webhook_url").encode()).hexdigest()[:16]

    async def lookup_room(self, written: str) -> str:
        """GET the webhook: the channel it posts into (its threads are read by that channel's readers)."""
        try:
            webhook = self._message(await self._client().request("GET", self._url("")), may_post=False)
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc
        channel = str(webhook.get("channel_id") or "")
        return f"discord:{channel}" if channel else ""

    # -- check ------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """GET the webhook (its name and channel); posts nothing."""
        try:
            answer = await self._client().request("GET", self._url(""))
            webhook = self._message(answer, may_post=False)
        except (DeliveryError, ConfigError) as exc:
            return [CheckResult(self.name, self.thread_id, False, self.redact(str(exc)))]
        where = f"channel {webhook.get('channel_id', '?')}"
        if self.thread_id:
            where += f", thread {self.thread_id} (not checked: a webhook cannot look threads up)"
        detail = f"webhook {webhook.get('name', '?')!r} works and posts to {where}"
        return [CheckResult(self.name, self.thread_id, True, detail, resolved=f"discord:{webhook.get('channel_id', '')}")]

    # -- client and errors --------------------------------------------------------

    def make_poster(self) -> HttpPoster:
        """The webhook's URL with its token as ``***``; its scheme, host and /api give the API root."""
        webhook_id, token, root = _parse_webhook_url(self.revealed("webhook_url"), self.source("webhook_url"))
        self._webhook_id = webhook_id
        base = f"{(self.config.api_url or root).rstrip('/')}/webhooks/{webhook_id}/"
        return HttpPoster(self, "Discord", real_url=base + token, shown_url=base + MASK)

    def _url(self, rest: str) -> str:
        return self._client().shown_url + rest

    def _message(self, answer: Answer, *, may_post: bool) -> dict[str, Any]:
        """The JSON object of a 2xx answer; else the error that says what to do."""
        if 200 <= answer.status < 300:
            data = answer.json()
            return data if isinstance(data, dict) else {}
        common = self._client().common_error(answer, may_post=may_post)
        if common is not None:
            raise common
        code = answer.field("code")
        raise _DiscordRefusal(
            self.redact(self._refusal(answer.status, code if isinstance(code, int) else 0, answer)), code=code
        )

    def _refusal(self, status: int, code: int, answer: Answer) -> str:
        source = self.source("webhook_url")
        if status == 401 or code == INVALID_WEBHOOK_TOKEN:
            return (
                f"Discord rejected the webhook token (HTTP {status}). {source} holds an old or mistyped webhook URL: "
                "copy it again from Server Settings > Integrations > Webhooks."
            )
        if code == UNKNOWN_WEBHOOK or (status == 404 and code == 0):
            return (
                f"Discord does not know this webhook (HTTP {status}): it was deleted. Create a new one "
                f"(Server Settings > Integrations > Webhooks) and put its URL in {source}."
            )
        if code == UNKNOWN_CHANNEL:
            return f"Discord cannot find thread {self.thread_id or '?'} (HTTP {status}). Check thread_id."
        if status == 403:
            return (
                f"Discord refused the post (HTTP 403: {answer.excerpt()}). The thread may be locked or archived, "
                "or the webhook lacks permission there."
            )
        if status == 400:
            return (
                f"Discord refused the message content (HTTP 400: {answer.excerpt()}). This is a bug in "
                "broadcaster's Discord formatting: see it with `broadcaster preview` and report it."
            )
        return f"Discord refused the request (HTTP {status}: {answer.excerpt()})."


class _DiscordRefusal(DeliveryError):
    """A permanent refusal, keeping Discord's error code for the retries that depend on it."""

    def __init__(self, message: str, code: Any) -> None:
        super().__init__(message, retryable=False)
        self.code = code if isinstance(code, int) else 0


def _parse_webhook_url(url: str, source: str) -> tuple[str, str, str]:
    """(id, token, API root) of a Discord webhook URL; ConfigError naming ``source``, never the URL."""
    parts = urlsplit(url)
    found = _WEBHOOK_PATH.match(parts.path)
    if parts.scheme != "https" or parts.hostname not in _HOSTS or not found or parts.query or parts.fragment:
        raise ConfigError(
            f"{source} does not hold a Discord webhook URL ({_URL_FORM}). Copy it from Server Settings > "
            "Integrations > Webhooks > Copy Webhook URL."
        )
    root = f"https://{parts.netloc}{parts.path[: parts.path.index('/webhooks/')]}"
    return found.group("id"), found.group("token"), root


class _Posted(NamedTuple):
    """A message as its remote id names it."""

    thread: str  # "" for a message in the channel itself
    message: str
    webhook: str  # the webhook that posted it; "" in ids stored before they named it

    @property
    def opens_forum_post(self) -> bool:
        """The first message of a forum post broadcaster opened: the post (thread) has its id, as at Discord."""
        return self.thread == self.message


def _parse_remote_id(remote_id: str) -> _Posted:
    found = _REMOTE_ID.match(remote_id or "")
    if not found:
        raise DeliveryError(
            f"the stored Discord message id {remote_id!r} is not '<message id>' or '<thread id>:<message id>' "
            "(with '@<webhook id>' after it). Was the state database edited by hand?",
            retryable=False,
        )
    return _Posted(found.group("thread") or "", found.group("message"), found.group("webhook") or "")


def message_linked(text: str) -> tuple[str, str, str] | None:
    """(guild, channel, message) of a Discord message link, read whole, or None: discord.com, discordapp.com, ptb. or
    canary., scheme and host in any case, no query; the fragment dropped."""
    if not text.isascii() or not text.isprintable():
        return None  # urlsplit drops a tab or a line break inside a link, and reads what is left
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    found = _MESSAGE_PATH.match(parts.path)
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in _HOSTS or not found or parts.query:
        return None
    return found.group("guild"), found.group("channel"), found.group("message")


def _threads_to_try(thread: str, message: str, replies_to: str | None) -> list[str]:
    """Where else to look for a message given by its id alone, not in the webhook's channel: a forum post's thread,
    whose id is that of its first message (the incident's first post itself, or the one it replies in)."""
    if thread or replies_to is None:
        return []
    if not replies_to:
        return [message]
    first = _parse_remote_id(replies_to)
    return [first.thread or first.message]


def _in_thread(posted: _Posted) -> str:
    """The query naming a message's thread, for an edit or a delete of it."""
    return f"?thread_id={posted.thread}" if posted.thread else ""


def _remote_id(message: Mapping[str, Any], thread: str, webhook: str, *, opened: bool) -> str:
    """A message's remote id, naming the webhook that posted it; a forum post's thread is the channel Discord
    answers with."""
    message_id = str(message.get("id", ""))
    in_thread = str(message.get("channel_id", "")) if opened else thread
    return (f"{in_thread}:{message_id}" if in_thread else message_id) + (f"@{webhook}" if webhook else "")


def _encoded(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
