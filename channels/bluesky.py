"""Bluesky: one post per update, replies for follow-ups, a correction reply for an amend.

Config (``[channels.NAME]`` with ``type = "bluesky"``)::

    handle = "acme.bsky.social"            # the account
    app_password = "${BLUESKY_APP_PASSWORD}"  # Settings > Privacy and security > App passwords
    service = "https://bsky.social"        # the account's PDS or entryway (the default)

A follow-up replies to the incident's latest post, with the first as the
thread's root. Bluesky cannot edit a post: an amend is a reply that says what
it corrects. Links are facets (Bluesky finds none by itself) and the incident
page is an external card.

Each post is created with a record key of ours (a TID made from the update's
time and a hash of the channel, incident and update), so a repeat after a
lost answer cannot make a second post: the key is taken, and the post found
under it is the one sent. The update is named by its key among what the public
was told (``view.key``), never the store's sequence: the key is in the post's
public address, and a reader trying sequences would find the gaps of updates
kept from the public (staff's, a customer's, a notice). The version before
this one seeded the key with the sequence: a repeat of a delivery an earlier
attempt may have posted (``SendLog.may_have_arrived``) first looks the post up
under that key too (a look-up publishes nothing), so a post the previous
version made, its answer lost, is not posted again under the new key. A first
attempt makes the one request. The account logs in once per command
(``createSession`` allows 30 logins in 5 minutes).

atproto (and its httpx client) is imported when the client is built. Remote
ids are ``at://<did>/app.bsky.feed.post/<rkey>#<cid>``: a reply needs both.

The DID in a remote id names the account that posted it: after ``handle`` is changed to another account, the next
update starts a thread of that account's own, never a reply into the old account's (``posted_here``). Which DID a
handle is, is learnt at each login and kept in the store; the first send after a change, before it is known, checks
the thread against the account it logged in as.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster.channels import _wait
from broadcaster.channels._doubt import Doubts
from broadcaster.channels._options import require_https
from broadcaster.channels.base import Channel, redirect_refused
from broadcaster.messages import bluesky as fmt
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret
from broadcaster.delivery import CheckResult, NotKnownBeforeLogin, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError

if TYPE_CHECKING:
    import re

    from atproto import AsyncClient

    from broadcaster.config import ChannelConfig

POST = "app.bsky.feed.post"
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
_KEYS_TRIED = 4  # another post under each of four keys of one instant: 1 chance in about 10^12
_HANDLE = lazy_re.compile(r"^(?=.{3,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
log = logging.getLogger(__name__)
_AT_URI = lazy_re.compile(r"^at://(?P<repo>[^/\s#]+)/app\.bsky\.feed\.post/(?P<rkey>[a-zA-Z0-9._:~-]{1,512})(?:#(?P<cid>[a-z0-9]+))?$")
# A post's page on bsky.app: its path (``post_linked`` drops the query, ``?ref_src=...`` from a share, and the fragment).
# Neither part is "." or "..", which name no account or post (and /post/.. is the profile's page).
_POST_PATH = lazy_re.compile(
    r"^/profile/(?!\.\.?/)(?P<repo>[^/\s]+)/post/(?!\.\.?/?$)(?P<rkey>[a-zA-Z0-9._:~-]{1,512})/?$")
_LINK_HOSTS = ("bsky.app", "www.bsky.app")


def record_key(moment: datetime, seed: str) -> str:
    """A TID (13 characters: 53 bits of microseconds, 10 of clock id) fixed by ``moment`` and ``seed``."""
    micros = int(moment.astimezone(UTC).timestamp() * 1_000_000) & ((1 << 53) - 1)
    return _tid(micros, _clock_id(seed))


def record_keys(rkey: str) -> list[str]:
    """``rkey``, then keys of the same time with other clock ids, in a fixed order: the next is tried when a
    post that is not this one holds a key. Updates stored at the same instant (``tick``'s reminders share
    its clock) have 1 chance in 1,024 of one key; the order is the same in every attempt and process, so a
    repeat after a lost answer still finds the post it made."""
    value = sum(_TID_CHARS.index(c) << (5 * (12 - i)) for i, c in enumerate(rkey))
    return [rkey, *(_tid(value >> 10, _clock_id(f"{rkey}\n{n}")) for n in range(1, _KEYS_TRIED))]


def _clock_id(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:2], "big") & 0x3FF


def _tid(micros: int, clock: int) -> str:
    value = (micros << 10) | clock
    return "".join(_TID_CHARS[(value >> (5 * (12 - i))) & 31] for i in range(13))


class BlueskyChannel(Channel):
    """One Bluesky account (see the module docstring for the config)."""

    type_name = "bluesky"
    keyed_repeats = True
    visibilities = ("public",)  # every post is public
    required_options = ("handle", "app_password")
    optional_options = ("service",)
    secret_options = ("app_password",)  # posts and deletes as the account
    default_api_url = "https://bsky.social"  # the entryway; atproto appends /xrpc
    max_graphemes = fmt.MAX_GRAPHEMES  # a post's text; links count in full
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._client: AsyncClient | None = None
        self._did = ""
        self._doubts = Doubts()
        self._session_tokens: set[str] = set()  # every session's: a server's error may quote one

    def secret_values(self) -> list[str]:
        """The app password, and the session tokens it was traded for (bearer credentials too)."""
        return [*super().secret_values(), *self._session_tokens]

    def _remember_session(self, _event: object, session: Any) -> None:
        from broadcaster.redaction import remember

        tokens = [t for t in (session.access_jwt, session.refresh_jwt) if t]
        self._session_tokens.update(tokens)
        remember(tokens)  # the libraries' logs (--debug) too: httpx logs no header, but a server's error may quote one

    # -- config ---------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        if not isinstance(options.get("app_password"), Secret):
            raise ConfigError(
                f'{where}app_password: must name an environment variable, e.g. app_password = '
                '"${BLUESKY_APP_PASSWORD}" (an app password from Settings > Privacy and security > App passwords, '
                "never the account's own password)."
            )
        handle = options.get("handle")
        if not isinstance(handle, str) or not (_HANDLE.match(handle.removeprefix("@")) or handle.startswith("did:")):
            raise ConfigError(f'{where}handle: must be the account\'s handle, e.g. "acme.bsky.social", not {handle!r}.')
        require_https(options, "service", where, "https://bsky.social", cls.default_api_url)

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        handle = str(options["handle"]).removeprefix("@").lower()
        return [(("bluesky", handle), handle)]

    @property
    def handle(self) -> str:
        return str(self.config.options["handle"]).removeprefix("@")

    @property
    def api_url(self) -> str:
        return self.config.api_url or str(self.config.options.get("service") or self.default_api_url)

    @property
    def password_variable(self) -> str:
        secret = self.config.options.get("app_password")
        return secret.env_var if isinstance(secret, Secret) else "the app password's environment variable"

    # -- render ---------------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        text = fmt.format_post(view)
        # The reader's key, not the store's sequence: the rkey is public, and its 10 bits of clock id are a hash
        # anyone can recompute, so a sequence hashed here gave away how many updates were kept from the public.
        seed = f"{self.name}\n{self.handle}\n{view.incident.id}\n{view.key}"
        rkey = record_key(view.created_at, seed)
        # The key the previous version gave this post (seeded with the sequence): never used to post, only to look
        # up on a repeat, where an attempt before the upgrade may have made the post under it (``send``).
        previous = record_key(view.created_at, f"{self.name}\n{self.handle}\n{view.incident.id}\n{view.sequence}")
        return Rendered(
            text=text,
            visibility=view.visibility,
            payload={
                "facets": fmt.link_facets(text, (view.incident.url,)),
                "card": fmt.card(view),
                "created_at": view.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "rkey": rkey,
                **({"previous_rkey": previous} if previous != rkey else {}),
            },
        )

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """The text, and the facets and card as JSON; not the record key and time (no reader's text,
        and a key could hold a short private value by chance)."""
        shown = {k: rendered.payload.get(k) for k in ("facets", "card")}
        return [*super().egress_payloads(Rendered(rendered.text, rendered.visibility)), (_json(shown), "application/json")]

    # -- send -----------------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        log = log if log is not None else SendLog()
        if log.parts:  # posted by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0])
        client = await self._session()
        anew = thread is not None and not self._own_thread(thread)
        if anew:
            # Said before the request leaves: however this post is recorded later, it starts the account's thread.
            log.starting_thread()
        reply = await self._reply_to(thread) if thread and not anew else None
        record = self._record(rendered, reply)
        rkey = str(rendered.payload["rkey"])
        previous = str(rendered.payload.get("previous_rkey") or "")
        if previous and log.may_have_arrived:  # a repeat: never a first attempt, which makes one request
            made = await self._made_before_the_upgrade(client, previous, record)
            if made:
                self._doubts.settled(rkey)
                log.confirmed(made)
                return Receipt(made)
        log.sending()
        remote_id = await self._create(client, record, rkey)
        self._doubts.settled(rkey)
        log.confirmed(remote_id)
        if anew:
            note = (f"the incident's earlier posts here were made by another account than @{self.handle} (handle changed "
                    "since): this post starts the incident's thread on this account, rather than reply in theirs")
            return Receipt(remote_id, notes=(note,), starts_thread=True)
        return Receipt(remote_id)

    def _own_thread(self, thread: ThreadRef) -> bool:
        """Whether the thread's posts are this account's (its DID known: logged in)."""
        return all(self.posted_here(r, "") for r in (thread.first_remote_id, thread.last_remote_id))

    def posted_here(self, remote_id: str, target: str) -> bool:
        """Whether the post is the account's that ``handle`` names now (its DID, as the last login learnt it);
        True where that is not known yet (``send`` checks once logged in) or the id names no account."""
        found = _AT_URI.match(remote_id or "")
        if found is None:
            return True
        repo = found.group("repo")
        if not repo.startswith("did:"):  # given by hand as a bsky.app link: the handle
            return repo.removeprefix("@").lower() == self.handle.lower()
        mine = self._own_did()
        return mine is None or repo == mine

    def _own_did(self) -> str | None:
        if self.handle.startswith("did:"):
            return self.handle
        if self._did:
            return self._did
        known = self.rooms.remembered_room(self._account_key()) if self.rooms is not None else None
        return known.removeprefix("bluesky:") if known else None

    def _account_key(self) -> str:
        return f"bluesky-account:{self.handle.lower()}"

    def _remember_did(self) -> None:
        """Keep which account the handle is, for ``posted_here`` in later commands: a cache, so a store busy for a
        moment costs only that (the next login writes it again), never the send."""
        if self.rooms is None or self.handle.startswith("did:"):
            return
        try:
            self.rooms.remember_room(self._account_key(), f"bluesky:{self._did}")
        except Exception as exc:  # noqa: BLE001 - a cache: the next login writes it again
            log.warning("Could not remember which account @%s is (%s); the next login does.", self.handle, exc)

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """com.atproto.repo.deleteRecord for each post; the PDS answers a post already gone as deleted."""
        from atproto import models

        client = await self._session()  # once: a wrong password must not cost a login per post

        async def delete_one(remote_id: str) -> None:
            why = self.not_deletable_here(remote_id, target)  # logged in: the handle's DID is known
            found = _AT_URI.match(remote_id or "")
            if why or found is None:  # one that is no at:// URI has its why
                raise self.fail(why, retryable=False)
            data = models.ComAtprotoRepoDeleteRecord.Data(repo=found.group("repo"), collection=POST, rkey=found.group("rkey"))
            await self._call("delete", client.com.atproto.repo.delete_record(data))

        return await self.delete_each(remote_ids, delete_one)

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """A stored id that is no at:// URI, or another account's post: only the account that posted a post may
        delete it (the PDS refused it as a bad login, "check handle and the app password", and every `retry` asked
        again). Before a login, with no DID known for the handle (changed since the last one), it cannot tell."""
        found = _AT_URI.match(remote_id or "")
        if not found:
            return (f"the stored Bluesky post id {remote_id!r} is not an at:// URI, so it cannot be deleted: "
                    f"delete it by hand in the app (@{self.handle}).")
        repo, rkey = found.group("repo"), found.group("rkey")
        link = f"https://bsky.app/profile/{repo}/post/{rkey}"
        if repo.startswith("did:") and self._own_did() is None:
            return NotKnownBeforeLogin(
                f"the Bluesky post {remote_id.partition('#')[0]} is {repo}'s, and which account @{self.handle} is, is "
                "known only once it logs in (handle changed since its last login?): if it is another account, the "
                f"withdrawal leaves the post up (exit 3), to delete by hand signed in as {repo}: {link}")
        if self.posted_here(remote_id, target):
            return ""
        return (f"the Bluesky post {remote_id.partition('#')[0]} is {repo}'s, not the account handle names now "
                f"(@{self.handle}, {self._own_did()}; handle changed since?), and only the account that posted a post "
                f"may delete it. Delete it by hand, signed in as that account: {link}")

    def remote_id_from(self, reference: str, target: str) -> str:
        """``at://did/app.bsky.feed.post/rkey#cid``, the at:// URI alone, or the post's bsky.app link."""
        text = reference.strip()
        link = post_linked(text)
        if link:
            return f"at://{self._repo_named(link.group('repo'))}/{POST}/{link.group('rkey')}"
        found = _AT_URI.match(text)
        if found:
            return f"at://{self._repo_named(found.group('repo'))}{text[found.end('repo'):]}"
        raise InputError(
            f"{reference!r} is not a Bluesky post: give its link (https://bsky.app/profile/HANDLE/post/KEY) "
            "or its at:// URI."
        )

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """Whose post it is, asked after a login (which account ``handle`` is) and a look-up of the post (whose
        repository holds it): another account's post, given by its bsky.app link or its at:// URI, was recorded, and
        only the next update found it out (starting a thread of its own) and withdraw left it up. The post's repo
        comes back as its DID."""
        found = _AT_URI.match(remote_id or "")
        if found is None:  # never: remote_id_from makes at:// URIs
            return remote_id
        link = f"https://bsky.app/profile/{found.group('repo')}/post/{found.group('rkey')}"
        try:
            client = await self._session()
            post = await self._fetch(client, found.group("repo"), found.group("rkey"))
        except DeliveryError as exc:
            raise InputError(f"could not ask Bluesky whose post {link} is ({exc}). Nothing was stored or sent; run "
                             "the command again once Bluesky answers.") from exc
        owner = _AT_URI.match(str(post.uri)) if post is not None else None
        if owner is None:
            raise InputError(f"Bluesky has no post {link} (deleted, or the link was mistyped), so later updates could "
                             "not reply under it. Check the link; nothing was stored or sent.")
        if owner.group("repo") != self._did:
            raise InputError(
                f"the Bluesky post {link} is {owner.group('repo')}'s, not the account handle of channels.{self.name} "
                f"is (@{self.handle}, {self._did}): later updates would not thread under it, and withdraw could not "
                "delete it. Give the post this account made; nothing was stored or sent.")
        return f"at://{self._did}{remote_id[found.end('repo'):]}"

    def _repo_named(self, repo: str) -> str:
        """The account's DID where a post given by hand names it by the handle this table posts as (a bsky.app link
        always does), once a login has learnt it: a handle changes (acme.bsky.social to a domain of its own), a DID
        does not. Kept by handle, the post read as another account's after handle was changed in the config: the
        next update started a new thread ("made by another account") and withdraw left it up, to delete by hand."""
        if repo.startswith("did:") or repo.removeprefix("@").lower() != self.handle.lower():
            return repo
        return self._own_did() or repo

    def same_post(self, stored: str, given: str) -> bool:
        """The same post however written: broadcaster records ``at://DID/app.bsky.feed.post/KEY#CID``, while an
        operator gives the post's bsky.app link, by handle or by DID (``remote_id_from``: ``at://HANDLE/...KEY``), or
        its at:// URI without the CID. Compared whole, another incident's post given so was taken for this one's, and
        the next update replied in that incident's thread. A key names one post of one account: the repo given is
        the record's DID, or the handle this table posts as."""
        kept, named = _AT_URI.match(stored or ""), _AT_URI.match(given or "")
        if kept is None or named is None:
            return stored == given
        repo = named.group("repo")
        return named.group("rkey") == kept.group("rkey") and (
            repo == kept.group("repo") or repo.lower() == self.handle.lower())

    def _record(self, rendered: Rendered, reply: Any) -> Any:
        from atproto import models

        payload = rendered.payload
        card = payload.get("card")
        embed = models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(**card)) if card else None
        facets = [
            models.AppBskyRichtextFacet.Main(
                index=models.AppBskyRichtextFacet.ByteSlice(
                    byte_start=f["index"]["byteStart"], byte_end=f["index"]["byteEnd"]
                ),
                features=[models.AppBskyRichtextFacet.Link(uri=f["features"][0]["uri"])],
            )
            for f in payload.get("facets") or []
        ]
        return models.AppBskyFeedPost.Record(
            text=rendered.text, created_at=str(payload["created_at"]), facets=facets or None, embed=embed, reply=reply
        )

    async def _create(self, client: AsyncClient, record: Any, rkey: str) -> str:
        from atproto import models

        for key in record_keys(rkey):
            data = models.ComAtprotoRepoCreateRecord.Data(repo=self._did, collection=POST, record=record, rkey=key)
            try:
                created = await self._call("post", client.com.atproto.repo.create_record(data))
            except DeliveryError as exc:
                found = await self._already_made(client, key, exc, record)
                if found is _ANOTHER_POST:
                    continue
                if found:
                    return found
                raise self._doubts.judged(rkey, exc) from exc
            return f"{created.uri}#{created.cid}"
        raise self.fail(
            f"every record key broadcaster tries for this post on @{self.handle} holds another post, so it was not "
            "posted. Please report it.", retryable=False,
        )

    async def _already_made(self, client: AsyncClient, rkey: str, exc: DeliveryError, record: Any) -> str | None:
        """The post an earlier attempt made under ``rkey``, if the failure may hide one ("" if none;
        ``_ANOTHER_POST`` if a post that is not this one holds the key, which no attempt of this one took)."""
        if exc.retryable and not exc.outcome_unknown:
            return ""  # a refused connection, a 429, a 503: nothing was made this time
        try:
            found = await self._fetch(client, self._did, rkey)
        except DeliveryError:
            return ""
        if found is None:
            return ""
        return f"{found.uri}#{found.cid}" if _same_post(found.value, record) else _ANOTHER_POST

    async def _made_before_the_upgrade(self, client: AsyncClient, previous: str, record: Any) -> str:
        """The post an attempt of the previous version made under the key it gave (``previous``, seeded with the
        sequence, or the next of its keys where another post held that one), or "" if there is none.

        A repeat only: its earlier attempt may have been the previous version's, whose post would not hold the key
        this version creates under, so the create would succeed and show the update twice. The look-up publishes
        nothing; if it fails, nothing is posted either (the post may be up): the error says so, the delivery stays
        in doubt, and a repeat looks again.
        """
        for key in record_keys(previous):
            try:
                found = await self._fetch(client, self._did, key)
            except DeliveryError as exc:
                doubt = self.fail(
                    f"{exc} An earlier attempt may have posted it already, under the record key the version before "
                    "this one gave it; it could not be looked up there, so nothing was posted.",
                    retryable=exc.retryable, retry_after=exc.retry_after, outcome_unknown=True)
                doubt.repeat_safe = True  # a look-up: repeating it shows nothing twice
                raise doubt from exc
            if found is None:
                return ""  # the previous version tried the next key only when another post held this one
            if _same_post(found.value, record):
                return f"{found.uri}#{found.cid}"
        return ""

    async def _fetch(self, client: AsyncClient, repo: str, rkey: str) -> Any:
        """The post under a repo and key (its ``uri``, ``cid`` and ``value``); None when there is none."""
        from atproto import models

        params = models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=POST, rkey=rkey)
        try:
            found = await self._call("look-up", client.com.atproto.repo.get_record(params))
        except _Missing:
            return None
        return found if found.cid else None

    async def _reply_to(self, thread: ThreadRef) -> Any:
        from atproto import models

        root = await self._strong_ref(thread.first_remote_id)
        parent = await self._strong_ref(thread.last_remote_id) if thread.last_remote_id != thread.first_remote_id else root
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)

    async def _strong_ref(self, remote_id: str) -> Any:
        from atproto import models

        found = _AT_URI.match(remote_id or "")
        if not found:
            raise self.fail(
                f"the stored Bluesky post id {remote_id!r} is not an at:// URI, so this update cannot be threaded. "
                "Was the state database edited by hand?",
                retryable=False,
            )
        if not found.group("cid"):  # given by hand (retry --remote-id): ask for the rest
            complete = await self._fetch(await self._session(), found.group("repo"), found.group("rkey"))
            if complete is None:
                raise self.fail(f"Bluesky has no post {remote_id} to reply to: it may have been deleted.", retryable=False)
            return models.ComAtprotoRepoStrongRef.Main(uri=str(complete.uri), cid=str(complete.cid))
        uri = f"at://{found.group('repo')}/{POST}/{found.group('rkey')}"
        return models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=found.group("cid"))

    # -- check ----------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """Log in with the app password and read the session back; nothing is posted."""
        try:
            await self._session()
        except DeliveryError as exc:
            return [CheckResult(self.name, self.handle, False, str(exc))]
        detail = f"app password works: @{self.handle} ({self._did})"
        return [CheckResult(self.name, self.handle, True, detail, resolved=f"bluesky:{self._did}")]

    # -- client and errors ----------------------------------------------------------

    async def _session(self) -> AsyncClient:
        """The logged-in client: one login per command (Bluesky allows 30 in 5 minutes)."""
        import asyncio
        if self._client is not None and self._did:
            return self._client
        # atproto's import builds hundreds of pydantic models (seconds on a busy machine): in a
        # worker thread, so the other destinations' requests on this event loop go on meanwhile.
        await asyncio.to_thread(importlib.import_module, "atproto")
        from atproto import AsyncClient, AsyncRequest

        try:
            password = self.secret("app_password")
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc
        # max_redirects=0: atproto's httpx client follows redirects, and a 307 or 308 would resend the login's
        # body, the app password in it, to wherever it points. A redirect is refused instead (``_call``).
        request = AsyncRequest(timeout=self.request_timeout, max_redirects=0)
        self._client = AsyncClient(base_url=self.api_url, request=request)
        self._client.on_session_change(self._remember_session)
        await self._call("login", self._client.login(self.handle, password, fetch_bsky_profile=False))
        session = await self._call("login", self._client.com.atproto.server.get_session())
        self._did = str(session.did)
        self._remember_did()
        return self._client

    async def aclose(self) -> None:
        client, self._client, self._did = self._client, None, ""
        if client is not None:
            await client.request.close()

    async def _call(self, action: str, request: Any) -> Any:
        """Await one atproto request; every failure becomes a DeliveryError."""
        import httpx
        from atproto import exceptions

        try:
            return await request
        except httpx.TooManyRedirects as exc:  # the first redirect, never followed (max_redirects=0)
            raise self._redirected(action, str(exc.request.url)) from exc
        except exceptions.RequestErrorBase as exc:
            raise self._error(action, exc) from exc
        except exceptions.AtProtocolError as exc:
            raise self.fail(f"Bluesky {action} failed: {type(exc).__name__}: {exc}", retryable=False) from exc

    def _error(self, action: str, exc: Exception) -> DeliveryError:
        from atproto import exceptions

        response = getattr(exc, "response", None)
        status = int(getattr(response, "status_code", 0) or 0)
        content = getattr(response, "content", None)
        code, said = str(getattr(content, "error", "") or ""), str(getattr(content, "message", "") or "")
        if response is None:
            return self._network_error(action, exc)
        if action == "look-up" and code == "RecordNotFound":
            return _Missing(said)
        if isinstance(exc, exceptions.RateLimitExceededError):
            return self._rate_limited(exc)
        if status in (401, 403) or code in ("AuthenticationRequired", "InvalidToken", "AccountTakedown"):
            return self.fail(
                f"Bluesky refused the {action} ({code or status}: {said or 'no reason given'}). Check handle and "
                f"{self.password_variable}: it must hold a current app password of @{self.handle}.",
                retryable=False,
            )
        if code == "ExpiredToken":
            self._did = ""  # log in again on the next attempt
            return self.fail("Bluesky's session expired; logging in again.", retryable=True)
        if status in (400, 413):
            return self.fail(
                f"Bluesky refused the {action} ({code or status}: {said}). Please report it with the update text.",
                retryable=False,
            )
        if status == 503:
            return self.fail(f"Bluesky could not take the {action} for now (HTTP 503).", retryable=True)
        return self.fail(
            f"Bluesky had a problem answering the {action} (HTTP {status}{', ' + code if code else ''}), so it may or "
            "may not have been done.",
            retryable=True,
            outcome_unknown=status >= 500 or status == 409,
        )

    def _redirected(self, action: str, location: str) -> DeliveryError:
        """A 3xx: nothing was done, and following it could carry the app password or the session elsewhere."""
        return self.fail(redirect_refused(
            f"Bluesky {action} failed: {self.api_url} answered", location, "the app password or the session",
            f"Check service (and api_url, if set) in [channels.{self.name}]: give the address that answers itself."),
            retryable=False)

    def _rate_limited(self, exc: Any) -> DeliveryError:
        wait = exc.retry_after
        if wait is None and exc.reset_at is not None:
            wait = max(0.0, (exc.reset_at - datetime.now(UTC)).total_seconds())
        wait = _wait.honoured(wait)
        return self.fail(f"Bluesky rate-limited the request (HTTP 429, {_wait.said(wait)}).", retryable=True,
                         retry_after=wait)

    def _network_error(self, action: str, exc: Exception) -> DeliveryError:
        import httpx

        cause = exc.__cause__
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return self.fail(
                f"Bluesky {action} failed: could not connect to {self.api_url} (check the network, a proxy, or "
                "service).",
                retryable=True,
            )
        what = f"no answer within {self.request_timeout:g}s" if isinstance(cause, httpx.TimeoutException) else (
            "the connection broke before an answer"
        )
        return self.fail(
            f"Bluesky {action} failed: {what}, so it may or may not have been done.", retryable=True, outcome_unknown=True
        )


_ANOTHER_POST = "another post"  # _already_made's answer when a post that is not this one holds the key


def _same_post(found: Any, record: Any) -> bool:
    """Whether the record found under one of our keys is ``record``, as an earlier attempt made it: the same
    time and text, or the same time and card (a later run may word it otherwise, in another language, say).
    A post of another update made at the same instant has another incident's text and card."""
    def field(value: Any, *path: str) -> Any:
        for name in path:
            value = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        return value

    if field(found, "created_at") != record.created_at and field(found, "createdAt") != record.created_at:
        return False
    card = field(record, "embed", "external", "uri")
    return field(found, "text") == record.text or (card is not None and field(found, "embed", "external", "uri") == card)


class _Missing(DeliveryError):
    """getRecord found no such record."""

    def __init__(self, message: str) -> None:
        super().__init__(message or "no such record", retryable=False)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def post_linked(text: str) -> re.Match[str] | None:
    """The repo and record key of a link to a post's page on bsky.app (``https://bsky.app/profile/HANDLE/post/KEY``),
    or None: scheme and host in any case, http:// too, the query (``?ref_src=embed``) and fragment dropped. Only the
    whole https:// link was taken, and one copied from a share or an embed was refused as "not a Bluesky post"."""
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed [ in the host: no link
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in _LINK_HOSTS:
        return None
    return _POST_PATH.match(parts.path)
