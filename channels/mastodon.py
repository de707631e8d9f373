"""Mastodon: one status per update, replies for follow-ups, amend by editing the status.

Config (``[channels.NAME]`` with ``type = "mastodon"``)::

    instance_url = "https://mastodon.social"   # the account's instance
    access_token = "${MASTODON_TOKEN}"        # an application token with write:statuses (check reads the account too)
    post_visibility = "public"                # or "unlisted": kept off the public timelines

A follow-up replies (``in_reply_to_id``) to the incident's latest status, so the
thread reads in order; an amend edits the status in place (``PUT``). Mastodon
keeps an edited status's earlier versions in its history: an amend corrects,
it does not unsay.

Every post carries an ``Idempotency-Key`` made from the channel, the incident
and the update, so a post repeated after a lost answer returns the first
status instead of making a second (Mastodon keeps keys for an hour). A retry
after such a loss is therefore safe; if the retry fails too, the delivery is
``unknown`` as with any medium.

Mastodon.py is synchronous (requests, and ``time.sleep`` on rate limits): it
runs in a worker thread, told never to sleep or retry by itself. It is
imported when the client is built. Remote ids are ``<status id>@<account id>@<instance>``: a status id means a
status on one instance only (another server numbers its own), so a table moved to another instance starts a new
thread there rather than reply to, or edit, whatever status has that number on the new one (``posted_here``); and
only the account that posted a status may edit or delete it, so a table whose access_token is changed to another
account's starts that account's own thread, posts a correction anew, and leaves the old account's statuses to delete
by hand. The status's account comes with the answer to its post; the token's is asked once per command that replies,
edits or deletes (``verify_credentials``, which needs ``read:accounts`` or ``profile``: without it, as before) and
kept in this process only, never in the store (nothing derived from a token is). Ids stored before name no account
(``<status id>@<instance>``), or neither: they thread as before.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from broadcaster.channels import _wait
from broadcaster.channels._doubt import Doubts
from broadcaster.channels._options import require_https
from broadcaster.channels._threads import off_the_loop
from broadcaster.channels.base import Channel, redirect_refused
from broadcaster.messages import mastodon as fmt
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret
from broadcaster.delivery import CheckResult, NotKnownBeforeLogin, PostedAnew, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError, NotEditable

if TYPE_CHECKING:
    from mastodon import Mastodon

    from broadcaster.config import ChannelConfig

T = TypeVar("T")
_STATUS_ID = lazy_re.compile(r"^\d{1,30}$")
# A remote id: the status id, then the account that posted it and the instance it is a status of (ids stored before
# name no account, or neither). ``<id>@<host>`` is the form before accounts: an account id comes only before a host.
_REMOTE_ID = lazy_re.compile(r"^(\d{1,30})(?:(?:@(\d{1,30}))?@([^@\s/]+))?$")
_ACCOUNT_ID = lazy_re.compile(r"^\d{1,30}$")
# A status page's path: /@user/123, /web/statuses/123, /users/u/statuses/123, each also under the web UI's /deck
# (its advanced view), with or without a final slash. The query and the fragment are not the path (``status_link``).
_STATUS_PATH = lazy_re.compile(
    r"^(?:/deck)?/(?:@[^/\s]+|web/statuses|users/[^/\s]+/statuses)/(?P<id>\d{1,30})/?$")
_VISIBILITIES = ("public", "unlisted")
# Mastodon.py's MastodonRatelimitError for a 429 (ratelimit_method="throw"); its others say it could not read
# the rate-limit headers of an answer, which may be a success.
_HIT_RATE_LIMIT = "Hit rate limit."
_MAX_QUOTED = 200  # characters of Mastodon.py's message quoted (it holds the body it could not parse)
# A request that changes nothing (whose a token or a status is): its lost answer leaves nothing in doubt, and said "so
# it may or may not have been done", the operator read it of the update's status and looked for one never posted.
_READ = "read"
# The account each access token is for, as this process learnt it (a status's answer, verify_credentials), by the
# API and a hash of the token: a withdrawal's dry run and its run, a command's channels built twice, ask once. "" for
# a token whose account cannot be read (no read:accounts scope). Never stored: nothing derived from a token is kept.
_ACCOUNTS: dict[tuple[str, str], str] = {}
# The tokens (keyed as above) a dry run asked of in vain: asked again for each status, each question waited out the
# timeout while the instance did not answer (ten statuses, ten timeouts). A command that deletes asks again itself.
_UNANSWERED: set[tuple[str, str]] = set()


class MastodonChannel(Channel):
    """One Mastodon account (see the module docstring for the config)."""

    type_name = "mastodon"
    keyed_repeats = True
    visibilities = ("public",)  # a status anyone can fetch by its link, whatever its visibility
    required_options = ("instance_url", "access_token")
    optional_options = ("post_visibility",)
    secret_options = ("access_token",)  # posts, edits and deletes as the account
    max_characters = fmt.MAX_CHARACTERS  # Mastodon's default, used until the instance says its own
    url_characters = fmt.URL_CHARACTERS  # what a link counts, likewise
    # The limits are read before anything is rendered, before ``[engine] deadline``'s clock starts: an instance that
    # does not answer holds the command this long at most (connecting, then reading), then Mastodon's defaults stand.
    limits_timeout = 3.0
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._api: Mastodon | None = None
        self._doubts = Doubts()
        self._limits: fmt.Limits | None = None  # the instance's, read once by prepare()

    # -- config ---------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        if not isinstance(options.get("access_token"), Secret):
            raise ConfigError(
                f'{where}access_token: must name an environment variable, e.g. access_token = "${{MASTODON_TOKEN}}" '
                "(Preferences > Development > New application, with the write:statuses scope)."
            )
        require_https(options, "instance_url", where, "https://mastodon.social")
        visibility = options.get("post_visibility", "public")
        if visibility not in _VISIBILITIES:
            raise ConfigError(f'{where}post_visibility: must be "public" or "unlisted", not {visibility!r}.')

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        token = options.get("access_token")
        account = (token.reveal_or_empty() or f"${token.env_var}") if isinstance(token, Secret) else ""
        host = urlsplit(str(options["instance_url"])).hostname or ""
        return [(("mastodon", host.lower(), account), str(options["instance_url"]))]

    @property
    def instance_url(self) -> str:
        return str(self.config.options["instance_url"]).rstrip("/")

    @property
    def api_url(self) -> str:
        return self.config.api_url or self.instance_url

    @property
    def instance(self) -> str:
        """The instance as remote ids name it (``mastodon.social``): its status ids mean statuses there only."""
        return instance_named(urlsplit(self.instance_url).netloc)

    @property
    def token_variable(self) -> str:
        token = self.config.options.get("access_token")
        return token.env_var if isinstance(token, Secret) else "the token's environment variable"

    # -- the instance's limits ---------------------------------------------------------

    def prepare(self) -> None:
        """Read the instance's status limits once, before anything is rendered (previews and sends alike)."""
        if self._limits is None:
            self._limits = self._read_limits()

    @property
    def limits(self) -> fmt.Limits:
        """The instance's limits once read; Mastodon's defaults before (or when it would not say)."""
        return self._limits or fmt.Limits(self.max_characters, self.url_characters, "")

    def _read_limits(self) -> fmt.Limits:
        """``configuration.statuses`` of GET /api/v2/instance, else of /api/v1/instance (older servers).

        A throwaway client, closed at once: this runs outside the command's event loop.
        Whatever fails, the defaults stand, and a status too long for the instance is
        then refused with a message saying so.
        """
        from mastodon import Mastodon, errors

        api = Mastodon(api_base_url=self.api_url, ratelimit_method="throw",
                       request_timeout=min(self.request_timeout, self.limits_timeout),
                       version_check_mode="none", user_agent="broadcaster")
        try:
            for path, call in (("/api/v2/instance", api.instance_v2), ("/api/v1/instance", api.instance_v1)):
                try:
                    found = fmt.instance_limits(call(), path)
                except errors.MastodonNotFoundError:
                    continue  # an older server: try v1
                except errors.MastodonError as exc:
                    return replace(self.limits, problem=self.redact(f"{path}: {exc}"))
                if found is not None:
                    return found
            return replace(self.limits, problem="the instance names no status limit")
        finally:
            api.session.close()

    def _limit_source(self) -> str:
        limits = self.limits
        if limits.source:
            return f"read from {limits.source}"
        return f"Mastodon's default: {limits.problem or 'the instance was not asked'}"

    # -- render ---------------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        # The update's time too: two stores (a rehearsal and the real one) may both have an "inc-1" update 1.
        seed = f"{self.name}\n{self.instance_url}\n{view.incident.id}\n{view.sequence}\n{view.created_at.isoformat()}"
        limits = self.limits
        return Rendered(
            text=fmt.format_status(view, limits.max_characters, limits.url_characters),
            visibility=view.visibility,
            payload={"idempotency_key": "broadcaster-" + hashlib.sha256(seed.encode()).hexdigest()[:40]},
        )

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """The status text alone: the payload holds only the Idempotency-Key, a header no reader sees
        (a hash, which could hold a short private value such as "cafe" by chance)."""
        return [(rendered.text, self.media_type)]

    # -- send / edit ----------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        log = log if log is not None else SendLog()
        if log.parts:  # posted by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0])
        key = idempotency_key(rendered)
        reply_to = status_id_of(thread.last_remote_id) if thread else None
        if thread and not await self._posted_by_this_account(thread.last_remote_id):
            # access_token changed to another account's since: that account's own thread starts here, never a reply
            # into the old account's. Said before the request leaves, so a resume records it so too.
            log.starting_thread()
            remote_id = await self._post(rendered.text, key, None, log)
            return Receipt(remote_id, notes=(self._anothers_thread(thread.last_remote_id),), starts_thread=True)
        try:
            remote_id = await self._post(rendered.text, key, reply_to, log)
        except _ReplyTargetGone:
            remote_id = await self._post(rendered.text, key + "-top", None, log)
            note = "the status this update replies to is gone (deleted?): posted without a reply"
            return Receipt(remote_id, notes=(note,))
        return Receipt(remote_id)

    async def edit(self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None) -> Receipt:
        """PUT /api/v1/statuses/:id; repeating one is harmless, so a lost answer is retried, not unknown."""
        if not _REMOTE_ID.match(remote_id):
            raise self.fail(
                f"the stored Mastodon status id {remote_id!r} is not a status id, so it cannot be edited. "
                "Was the state database edited by hand?",
                retryable=False,
            )
        if not self.posted_here(remote_id, target):
            # Its number on this instance is another status, or none: never edited here (the engine asks
            # ``posted_here`` first; this holds for a correction planned before instance_url changed).
            raise NotEditable(self._elsewhere_anew(remote_id))
        if not await self._posted_by_this_account(remote_id):
            # Mastodon would answer 404: only the account that posted a status may edit it.
            raise NotEditable(self._anothers_status_anew(remote_id))
        status_id = status_id_of(remote_id)
        try:
            await self._call("edit", lambda api: api.status_update(status_id, rendered.text))
        except _Gone as exc:
            if await self._still_up(status_id):
                raise self.fail(self._anothers(status_id, "edit", "Its text stays uncorrected: correct or delete it"),
                                retryable=False) from exc
            # As Slack, Discord and Telegram: the engine posts the correction anew. Failed for good ("Post a new
            # update"), it held that new update back behind it, and `retry` met the same 404.
            raise NotEditable(PostedAnew(f"Mastodon status {status_id} is gone (deleted?)", "status")
                              .redacted(self.redact)) from exc
        except DeliveryError as exc:
            exc.outcome_unknown = False
            raise
        return Receipt(remote_id)

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """DELETE /api/v1/statuses/:id for each status; one already gone (404, and no longer readable) counts as
        deleted, one still readable is another account's, to delete by hand.

        Mastodon allows 30 deletes in 30 minutes: past that, a 429 makes the delivery wait and retry.
        """
        unasked = await self._ask_account_before_deleting(remote_ids)

        async def delete_one(remote_id: str) -> None:
            if unasked is not None and _account_of(remote_id):
                raise self.fail(str(unasked), retryable=unasked.retryable, retry_after=unasked.retry_after)
            why = self.not_deletable_here(remote_id, target)
            if why:
                raise self.fail(why, retryable=False)
            status_id = status_id_of(remote_id)
            try:
                await self._call("delete", lambda api: api.status_delete(status_id))
            except _Gone as exc:
                if await self._still_up(status_id):
                    raise self.fail(self._anothers(status_id, "delete", "Delete it"), retryable=False) from exc

        return await self.delete_each(remote_ids, delete_one)

    async def _ask_account_before_deleting(self, remote_ids: Sequence[str]) -> DeliveryError | None:
        """Which account access_token is for, asked once before the first delete of a status whose id names its
        account (which of them this account may delete); the failure to ask, which each of those fails with (a bad
        token: said once, with how many more were not deleted)."""
        if not any(_account_of(r) for r in remote_ids):
            return None
        try:
            await self._own_account()
        except DeliveryError as exc:
            return self._unasked(exc)
        return None

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """A stored id that is no status id, or a status of another instance than instance_url's: its number names
        another status here, or none."""
        if not _REMOTE_ID.match(remote_id):
            return (f"the stored Mastodon status id {remote_id!r} is not a status id, so it cannot be deleted: "
                    f"delete it by hand on {self.instance_url}.")
        if not self._on_this_instance(remote_id):
            return self._elsewhere(remote_id, "Delete it by hand")
        if _account_of(remote_id) and _ACCOUNTS.get(self._token_key()) is None and not self._learnt_now():
            return NotKnownBeforeLogin(self._anothers_status(remote_id, "Delete it", known=False))
        if not self.posted_here(remote_id, target):
            return self._anothers_status(remote_id, "Delete it")
        return ""

    def not_editable_here(self, remote_id: str, target: str) -> PostedAnew | None:
        """A status of another instance, or another account's (asked now outside the event loop, as
        ``not_deletable_here``: a correction's preview asks before its send would): ``edit`` would not edit it, and
        the correction goes as a new status. "" where the account cannot be asked now: the edit asks itself."""
        if not _REMOTE_ID.match(remote_id):
            return None  # ``edit`` refuses it, saying so
        if not self._on_this_instance(remote_id):
            return self._elsewhere_anew(remote_id)
        if _account_of(remote_id) and _ACCOUNTS.get(self._token_key()) is None and not self._learnt_now():
            return None
        return None if self.posted_here(remote_id, target) else self._anothers_status_anew(remote_id)

    def _learnt_now(self) -> bool:
        """Ask which account access_token is for, where only a withdrawal's dry run asks ``not_deletable_here``, or a
        correction's preview ``not_editable_here``, before its delete or edit would (outside the event loop: ``delete``
        and ``edit`` ask first, on it); whether it is known now. Once per process, answered or not: the withdrawal or
        amend that follows its preview is answered from it, and one unanswered is not asked again for the next
        status (``delete`` and ``edit`` ask again, and say what failed)."""
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._token_key() in _UNANSWERED:
                return False  # asked in vain already: each status would wait the timeout out again
            if asyncio.run(self._account_or_nothing()) is not None:
                return True
            _UNANSWERED.add(self._token_key())
        return False  # never a blocking request on the loop

    async def _account_or_nothing(self) -> str | None:
        try:
            return await self._own_account()
        except DeliveryError:
            return None  # asked again by the withdrawal's delete, which says what failed
        finally:
            await self.aclose()  # this loop's client: the run builds its own

    async def _posted_by_this_account(self, remote_id: str) -> bool:
        """Whether the status is this token's account's; True where its id names no account (stored before ids
        did), or the token may not read its account: those are replied to, edited and deleted as before."""
        posted_by = _account_of(remote_id)
        if not posted_by:
            return True
        try:
            mine = await self._own_account()
        except DeliveryError as exc:
            raise self._unasked(exc) from exc
        return not mine or mine == posted_by

    async def _own_account(self) -> str:
        """The id of the account access_token is for: asked once per process (verify_credentials); "" where the token
        may not read it (no read:accounts or profile scope)."""
        key = self._token_key()
        if key not in _ACCOUNTS:
            try:
                account = await self._call(_READ, lambda api: api.account_verify_credentials())
            except _Refused:
                _ACCOUNTS[key] = ""
                return ""
            except DeliveryError as exc:
                exc.outcome_unknown = False  # a read does nothing
                raise
            self._learn(str(account.get("id") or ""))
        return _ACCOUNTS.get(key, "")

    def _unasked(self, exc: DeliveryError) -> DeliveryError:
        """Which account access_token is for could not be asked: said as such, since the read's own failure ("Mastodon
        could not take the read for now") named no step the operator took, and nothing was posted, edited or deleted
        after it."""
        return DeliveryError(
            f"Mastodon did not say which account {self.token_variable} is for (verify_credentials, asked before "
            f"replying to, editing or deleting a status whose id names its account; nothing was done to one here "
            f"after it): {exc}", retryable=exc.retryable, retry_after=exc.retry_after)

    def _learn(self, account_id: str) -> None:
        """Keep, for this process, that access_token is for ``account_id`` (from a status this token posted, or
        verify_credentials)."""
        if _ACCOUNT_ID.match(account_id):
            _ACCOUNTS[self._token_key()] = account_id

    def _token_key(self) -> tuple[str, str]:
        try:
            token = self.secret("access_token")
        except ConfigError:
            token = ""
        return (self.api_url, hashlib.sha256(token.encode()).hexdigest())

    async def _still_up(self, status_id: str) -> bool:
        """Whether a status Mastodon answered this token's edit or delete of with 404 is still there: Mastodon
        answers so for another account's status too (one posted before access_token was changed to another
        account's), and only a read, which any account may make of a public status, tells that from one gone."""
        try:
            await self._call(_READ, lambda api: api.status(status_id))
        except _Gone:
            return False
        except DeliveryError as exc:
            exc.outcome_unknown = False  # a read does nothing: only whether the status is still up stays unknown
            raise
        return True

    def _anothers(self, status_id: str, action: str, by_hand: str) -> str:
        return (f"Mastodon status {status_id} is still up, but this token's account cannot {action} it: another "
                f"account posted it ({self.token_variable} changed to another account's token since?). {by_hand} "
                f"by hand on {self.instance_url}, signed in as the account that posted it.")

    def _anothers_status(self, remote_id: str, by_hand: str, *, known: bool = True) -> str:
        status_id, posted_by = status_id_of(remote_id), _account_of(remote_id)
        link = f"https://{self.instance}/web/statuses/{status_id}"
        if not known:
            return (f"Mastodon status {status_id} was posted by account {posted_by}, and which account "
                    f"{self.token_variable} is for could not be asked now: if another account's, the withdrawal leaves "
                    f"the status up (exit 3), to delete by hand signed in as account {posted_by}: {link}")
        why, then = self._anothers_status_parts(remote_id)
        return f"{why}. {by_hand} {then}"

    def _anothers_status_parts(self, remote_id: str) -> tuple[str, str]:
        """Whose status it is, and where to act on it by hand ("by hand on ..."), apart: a note on a correction
        words the new post between them by what became of it (``PostedAnew``)."""
        status_id, posted_by = status_id_of(remote_id), _account_of(remote_id)
        mine = _ACCOUNTS.get(self._token_key()) or "?"
        return (f"Mastodon status {status_id} was posted by another account (id {posted_by}) than the one "
                f"{self.token_variable} is for now (id {mine}; changed to another account's token since?), and only "
                "the account that posted a status may edit or delete it",
                f"by hand on {self.instance}, signed in as account {posted_by}: "
                f"https://{self.instance}/web/statuses/{status_id}")

    def _anothers_status_anew(self, remote_id: str) -> PostedAnew:
        why, by_hand = self._anothers_status_parts(remote_id)
        return PostedAnew(why, "status", f"correct the original {by_hand}").redacted(self.redact)

    def _anothers_thread(self, remote_id: str) -> str:
        return (f"the incident's earlier statuses here were posted by another account (id {_account_of(remote_id)}) "
                f"than the one {self.token_variable} is for now: this status starts the incident's thread on this "
                "account, rather than reply in theirs")

    def _elsewhere(self, remote_id: str, by_hand: str) -> str:
        why, then = self._elsewhere_parts(remote_id)
        return f"{why}. {by_hand} {then}"

    def _elsewhere_parts(self, remote_id: str) -> tuple[str, str]:
        """Where the status is, and where to act on it by hand ("on ..."), apart (as ``_anothers_status_parts``)."""
        found = _REMOTE_ID.match(remote_id)
        status_id, instance = (found.group(1), found.group(3)) if found else (remote_id, "?")
        return (f"Mastodon status {status_id} is a status on {instance}, not on {self.instance}, where instance_url "
                "points now (its number means another status there, or none)",
                f"on {instance}, signed in as the account that posted it: https://{instance}/web/statuses/{status_id}")

    def _elsewhere_anew(self, remote_id: str) -> PostedAnew:
        why, where = self._elsewhere_parts(remote_id)
        return PostedAnew(why, "status", f"correct the original by hand {where}").redacted(self.redact)

    def posted_here(self, remote_id: str, target: str) -> bool:
        """Whether the status is on the instance instance_url names now, by the account access_token is for (where
        this process learnt it: ``send``, ``edit`` and ``delete`` ask before they act). An id stored before ids named
        their instance, or their account, is taken to be (as it was before)."""
        if not self._on_this_instance(remote_id):
            return False
        posted_by, mine = _account_of(remote_id), _ACCOUNTS.get(self._token_key())
        return not posted_by or not mine or posted_by == mine

    def _on_this_instance(self, remote_id: str) -> bool:
        found = _REMOTE_ID.match(remote_id or "")
        return found is None or found.group(3) is None or instance_named(found.group(3)) == self.instance

    def same_post(self, stored: str, given: str) -> bool:
        """The same status: an id stored before ids named their instance is the same number on this one."""
        kept, named = _REMOTE_ID.match(stored or ""), _REMOTE_ID.match(given or "")
        if kept is None or named is None:
            return stored == given
        return kept.group(1) == named.group(1) and self._on(kept.group(3)) == self._on(named.group(3))

    def _on(self, instance: str | None) -> str:
        """The instance a remote id's status is on: this one where the id names none (stored before they did)."""
        return instance_named(instance) if instance else self.instance

    def remote_id_from(self, reference: str, target: str) -> str:
        """A status id, a link to the status (``https://mastodon.social/@acme/1123…``) or its remote id as broadcaster
        shows it (``1123…@1099…@mastodon.social``, or ``1123…@mastodon.social`` as stored before ids named their
        account): a status of the instance instance_url names. One of another instance is
        refused: its number names another status here, or none, and later updates would reply to it."""
        text = reference.strip()
        link, named = status_link(text), _REMOTE_ID.match(text)
        posted_by = ""
        if link:
            on, status_id = link
        elif named:
            status_id, posted_by, on = named.group(1), named.group(2) or "", named.group(3)
        else:
            raise InputError(
                f"{reference!r} is not a Mastodon status: give its id (the digits at the end of its link) or its link, "
                "e.g. https://mastodon.social/@acme/112233445566778899."
            )
        if on and instance_named(on) != self.instance:
            raise InputError(
                f"{text!r} is a status of {on}, and this channel posts on {self.instance} (instance_url): each server "
                "numbers its statuses itself, so that number names another status here, or none, and later updates "
                f"would reply to it. Open the status on {self.instance} (paste its link in the search there) and copy "
                "that link; nothing was stored or sent."
            )
        return self._remote_id(status_id, posted_by)

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """Whose status it is, asked of the instance (its account, against verify_credentials'): a link names the
        account by a name anyone may write, and an id none, so another account's status on this instance was recorded
        as this table's, and later updates replied under it. Where the token may not read its account, as given, with
        the account that posted it as the instance says."""
        status_id = status_id_of(remote_id)
        try:
            mine = await self._own_account()
            status = await self._call(_READ, lambda api: api.status(status_id))
        except _Gone as exc:
            raise InputError(f"{self.instance} has no status {status_id} (deleted, or the link was mistyped), so later "
                             "updates could not reply under it. Check the link; nothing was stored or sent.") from exc
        except DeliveryError as exc:
            raise InputError(f"could not ask {self.instance} whose status {status_id} is ({exc}) Nothing was stored "
                             "or sent; run the command again once it answers.") from exc
        posted_by = str((status.get("account") or {}).get("id") or "")
        if mine and posted_by and posted_by != mine:
            raise InputError(
                f"Mastodon status {status_id} was posted by another account (id {posted_by}) than the one "
                f"{self.token_variable} is for (id {mine}): later updates would reply under it. Give the status this "
                "account posted; nothing was stored or sent.")
        # Recorded with the account the instance names (a link or a bare id names none, and a typed id any): read as
        # an id stored before ids named it, a later token of another account replied under it, as 1d0a4cf mended.
        return self._remote_id(status_id, posted_by if _ACCOUNT_ID.match(posted_by) else "")

    def _remote_id(self, status_id: str, posted_by: str) -> str:
        """``<status id>@<account id>@<instance>``; without the account where it is not known (a link)."""
        return f"{status_id}@{posted_by}@{self.instance}" if posted_by else f"{status_id}@{self.instance}"

    async def _post(self, text: str, key: str, reply_to: str | None, log: SendLog) -> str:
        def post(api: Mastodon) -> Any:
            return api.status_post(
                text, in_reply_to_id=reply_to, visibility=self.post_visibility, idempotency_key=key
            )

        log.sending()
        try:
            status = await self._call("post", post, key=key)
        except _Gone as exc:
            if reply_to is None:
                raise
            raise _ReplyTargetGone from exc
        status_id = str(status.get("id") or "")
        if not _STATUS_ID.match(status_id):
            raise self.fail(
                f"Mastodon answered the post without a status id ({status_id!r}), so it may or may not be up. "
                f"Look at the account on {self.instance_url}.",
                retryable=False,
                outcome_unknown=True,
            )
        self._doubts.settled(key)
        posted_by = str((status.get("account") or {}).get("id") or "")
        self._learn(posted_by)  # whose status it is, is whose the token is
        remote_id = self._remote_id(status_id, posted_by if _ACCOUNT_ID.match(posted_by) else "")
        log.confirmed(remote_id)
        return remote_id

    @property
    def post_visibility(self) -> str:
        return str(self.config.options.get("post_visibility", "public"))

    # -- check ----------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """The token (verify_credentials) and the instance's character limit."""
        try:
            account = await self._call("check", lambda api: api.account_verify_credentials())
        except DeliveryError as exc:
            return [CheckResult(self.name, self.instance_url, False, str(exc))]
        who = f"@{account.get('acct', '?')} on {urlsplit(self.instance_url).hostname}"
        results = [CheckResult(self.name, "", True, f"token works: {who}", resolved=f"mastodon:{account.get('id', '')}")]
        return [*results, await self._check_limit()]

    async def _check_limit(self) -> CheckResult:
        import asyncio

        limits = await asyncio.to_thread(self._read_limits)
        if limits.problem:
            return CheckResult(
                self.name, self.instance_url, False,
                f"cannot read the instance's status limit ({limits.problem}); broadcaster will write up to "
                f"{limits.max_characters} characters, which the instance may refuse.",
            )
        return CheckResult(
            self.name, self.instance_url, True,
            f"statuses up to {limits.max_characters} characters (a link counts {limits.url_characters}), "
            f"read from {limits.source}",
        )

    # -- client and errors ----------------------------------------------------------

    def _client(self) -> Mastodon:
        if self._api is None:
            from mastodon import Mastodon

            try:
                token = self.secret("access_token")
            except ConfigError as exc:
                raise self.fail(str(exc), retryable=False) from exc
            api = Mastodon(
                api_base_url=self.api_url,
                ratelimit_method="throw",  # the engine waits and retries, never a sleeping worker thread
                request_timeout=self.request_timeout,
                version_check_mode="none",  # no request before the first real one
                user_agent="broadcaster",
            )
            # Set after construction: given to the constructor, a token that names an
            # existing file is read as a token file.
            api.access_token = token
            # requests follows redirects; a 307 or 308 would resend the status (a private one too) elsewhere.
            # With none allowed, the first is refused before anything follows it (``_network_error``).
            api.session.max_redirects = 0
            api.session.hooks["response"].append(_without_unreadable_reset)
            self._api = api
        return self._api

    async def aclose(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            api.session.close()

    async def _call(self, action: str, call: Callable[[Mastodon], T], *, key: str = "") -> T:
        """Run one Mastodon.py call in a worker thread (never waited for past the deadline); every failure becomes
        a DeliveryError."""
        from mastodon import errors

        api = self._api if self._api is not None else await off_the_loop(self._client)
        try:
            return await off_the_loop(call, api)
        except errors.MastodonRatelimitError as exc:
            if str(exc) != _HIT_RATE_LIMIT:  # its own reading of an answer's headers failed, a 200's included
                raise self._doubts.judged(key, self._unreadable(action, f"its rate-limit headers: {exc}")) from exc
            raise self._doubts.judged(key, self._rate_limited(api, exc)) from exc
        except errors.MastodonNetworkError as exc:
            raise self._doubts.judged(key, self._network_error(action, exc, key)) from exc
        except errors.MastodonAPIError as exc:
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
            if not status:  # raised for a 2xx whose body is not JSON (an error status comes with the error)
                raise self._doubts.judged(key, self._unreadable(action, str(exc.args[0]) if exc.args else "")) from exc
            raise self._doubts.judged(key, self._api_error(action, exc, status, key)) from exc
        except errors.MastodonError as exc:
            raise self._doubts.judged(key, self.fail(f"Mastodon {action} failed: {exc}", retryable=False)) from exc

    def _rate_limited(self, api: Mastodon, exc: Exception) -> DeliveryError:
        reset = api.ratelimit_reset
        wait = max(0.0, float(reset) - time.time()) if isinstance(reset, int | float) else None
        return self.fail(f"Mastodon rate-limited the request (HTTP 429, {_wait.said(wait)}).", retryable=True,
                         retry_after=wait)

    def _unreadable(self, action: str, what: str) -> DeliveryError:
        """An answer Mastodon.py could not read, a success's included: the request may have been done."""
        said = what[:_MAX_QUOTED] + ("…" if len(what) > _MAX_QUOTED else "")
        return self.fail(
            f"Mastodon's answer to the {action} could not be read ({said}), so it may or may not have been done. "
            f"A proxy in front of {self.instance_url} may have answered for it.",
            retryable=True,
            outcome_unknown=True,
        )

    def _network_error(self, action: str, exc: Exception, key: str) -> DeliveryError:
        import requests

        cause = exc.__context__  # Mastodon.py raises its own error inside the except of requests'
        if isinstance(cause, requests.TooManyRedirects):  # the first redirect, never followed (max_redirects=0)
            location = cause.response.headers.get("Location", "") if cause.response is not None else ""
            return self.fail(redirect_refused(
                f"Mastodon {action} failed: {self.api_url} answered", location, "the access token or the status",
                f"Check instance_url (and api_url, if set) in [channels.{self.name}]: give the address that answers "
                "itself."), retryable=False)
        refused = isinstance(cause, requests.ConnectTimeout) or (
            isinstance(cause, requests.ConnectionError) and "NewConnectionError" in str(cause)
        )
        if refused:
            return self.fail(
                f"Mastodon {action} failed: could not connect to {self.api_url} (check the network, a proxy, "
                "or instance_url).",
                retryable=True,
            )
        timed_out = isinstance(cause, requests.Timeout)
        what = f"no answer within {self.request_timeout:g}s" if timed_out else "the connection broke before an answer"
        return self.fail(
            f"Mastodon {action} failed: {what}{_doubt(action)}.",
            retryable=True,
            outcome_unknown=action != _READ,
        )

    def _api_error(self, action: str, exc: Exception, status: int, key: str) -> DeliveryError:
        said = str(exc.args[3]) if len(exc.args) > 3 and exc.args[3] else "no reason given"
        if status == 401:
            return self.fail(
                f"Mastodon rejected the access token ({said}). Check {self.token_variable}: it must hold a current "
                f"token of an application on {self.instance_url} (Preferences > Development).",
                retryable=False,
            )
        if status == 403:
            return _Refused(self.redact(
                f"Mastodon refused the {action} ({said}). The token needs the write:statuses scope (and "
                "read:accounts for channels check): give the application those scopes and a new token."),
                retryable=False,
            )
        if status == 404:
            return _Gone(self.redact(f"Mastodon has no such status ({said}): it may have been deleted. Post a new update."),
                         retryable=False)
        if status == 422:
            return self.fail(
                f"Mastodon refused the status ({said}). If it names a character limit, broadcaster wrote up to "
                f"{self.limits.max_characters} ({self._limit_source()}): `broadcaster channels check` shows what "
                "the instance says; otherwise please report it with the update text.",
                retryable=False,
            )
        if status == 429:
            return self.fail("Mastodon rate-limited the request (HTTP 429).", retryable=True)
        if status == 503:
            return self.fail(f"Mastodon could not take the {action} for now (HTTP 503).", retryable=True)
        if status >= 500:
            return self.fail(
                f"Mastodon had a problem of its own answering the {action} (HTTP {status}){_doubt(action)}.",
                retryable=True,
                outcome_unknown=action != _READ,
            )
        return self.fail(f"Mastodon refused the {action} (HTTP {status}: {said}).", retryable=False)


class _Gone(DeliveryError):
    """Mastodon answered 404: the status named is not there."""


class _Refused(DeliveryError):
    """Mastodon answered 403: the token's scopes do not allow it."""


class _ReplyTargetGone(Exception):
    """The status a reply was for is gone."""


def instance_named(address: str) -> str:
    """An instance as remote ids name it, however instance_url (or an id stored by an earlier version) wrote it:
    the host in lower case, in IDNA's ASCII letters, without a trailing dot, and the port only where it is not
    https's own. Written as they came, "mastodon.social:443" or "mastodon.social." named another instance: the next
    update started a thread anew, and withdraw left the statuses up, "on another instance"."""
    try:
        parts = urlsplit(f"https://{address}")
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:  # a port that is no number: compared as written
        return address.lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # a label IDNA cannot write: kept as it is
        pass
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    return host if port in (None, 443) else f"{host}:{port}"


def status_link(text: str) -> tuple[str, str] | None:
    """(host, status id) of a link to a status's page, or None: the one reading of a Mastodon link. Its query and
    fragment are dropped (``?utm_source=...`` from a share, ``#...``), and the web UI's ``/deck/@acme/123`` is the
    status's page too: a link copied from the address bar was refused as "not a Mastodon status"."""
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed [ in the host: no link
        return None
    found = _STATUS_PATH.match(parts.path)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or found is None:
        return None
    if any(char.isspace() for char in parts.netloc):
        return None  # no host: as the pattern it replaces read it
    return parts.netloc, found.group("id")


def _doubt(action: str) -> str:
    """What a request's lost answer leaves in doubt: nothing for a read."""
    return "" if action == _READ else ", so it may or may not have been done"


def _account_of(remote_id: str) -> str:
    """The id of the account that posted the status a remote id names; "" in ids stored before they named it."""
    found = _REMOTE_ID.match(remote_id or "")
    return (found.group(2) or "") if found else ""


def status_id_of(remote_id: str) -> str:
    """The status id a remote id names (``112233@mastodon.social``, or the bare id stored before)."""
    return remote_id.split("@", 1)[0]


def idempotency_key(rendered: Rendered) -> str:
    return str(rendered.payload.get("idempotency_key", ""))


def _without_unreadable_reset(response: Any, *_: Any, **__: Any) -> Any:
    """``response`` without a rate-limit reset time (or server date) Mastodon.py cannot read.

    Mastodon.py works the reset time out of every answer before it looks at the status, and raises a rate-limit
    error when it cannot (an instance or a proxy writing "soon"): a success would be in doubt, a refusal (a bad
    token, a text too long) no refusal. Without the header the answer is read as what it is; only the wait
    after a real 429 is then unknown, and the 429 is still one.
    """
    import dateutil.parser

    reset = response.headers.get("X-RateLimit-Reset")
    if reset is None:
        return response
    try:
        if not (reset.isascii() and reset.isdigit()):  # what Mastodon.py reads as a number: "²" is not
            dateutil.parser.parse(reset)
        if "Date" in response.headers:
            dateutil.parser.parse(response.headers["Date"])
    except (ValueError, OverflowError):
        del response.headers["X-RateLimit-Reset"]
    return response
