"""Retrying: store -> deliveries not yet sent -> deliver -> outcomes; and settling posts whose fate is unknown."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from broadcaster import lazy_re
from broadcaster.config import Config, is_subscribers
from broadcaster.delivery import DONE_STATES, MAX_ID, DeliveryState, NotKnownBeforeLogin, names_no_post
from broadcaster.destination import Destination
from broadcaster.destinations import destinations, not_configured_here
from broadcaster.engine import (
    Outcome,
    Progress,
    Publisher,
    left_to_delete,
    made_alike,
    not_deletable,
    post_to_edit,
    repeats_safely,
    since_the_latest_restart,
    thread_of,
)
from broadcaster.errors import InputError, bounded, did_you_mean, printable
from broadcaster.messages import advice, gate
from broadcaster.messages.visibility import corrected_sequence
from broadcaster.operations.posting import check_customers, find_incident, stale_site_deliveries
from broadcaster.operations.rooms import check_shared_rooms, hold_stored
from broadcaster.store import Delivery, Store, alive_here, process_owner
from broadcaster.store.records import BY_HAND, WRITTEN


def reap(config: Config, store: Store) -> None:
    """Settle deliveries left ``sending`` by a command that died: their fate is ``unknown`` from now on."""
    Publisher(config, store).reap()


def mark_unknown_sent(
    config: Config, store: Store, incident_id: str | None = None, remote_ids: Sequence[str] = ()
) -> list[tuple[Delivery, str]]:
    """The operator checked: the posts whose fate was unknown are there. Never resend them.

    ``remote_ids`` (``DEST[:TARGET]=ID or link``) give the post ids the operator
    found, so later updates keep threading under them. Returns each delivery
    marked, with a sentence on what its follow-ups will thread under.
    Site and host deliveries are left to ``retry``, which simply redoes them.
    """
    reap(config, store)
    # With the store: what a channel learnt of its account there (Bluesky's DID) reads the ids given by hand.
    all_destinations = destinations(config, store)
    # Left to ``retry``, which redoes them: the site and hosts, and a withdrawal's deletes (marking one "sent"
    # because the post is still there would leave the withdrawn post up for good).
    unknown = [
        d for d in store.deliveries(incident_id=incident_id, states=(DeliveryState.UNKNOWN,))
        if not repeats_safely(d, all_destinations.get(d.destination), store.update(d.incident_id, d.sequence))
    ]
    withdrawn = withdrawn_before(store, unknown)
    refuse_ids_of_withdrawn(remote_ids, unknown, withdrawn)
    given = _remote_ids_for(store, all_destinations, unknown, remote_ids)
    marked = []
    for delivery in unknown:
        if delivery.id in withdrawn:
            if store.claim(delivery.id, "operator", include_unknown=True, sending=False):
                store.mark_skipped(delivery.id, SETTLED)
                marked.append((store.delivery(delivery.id), SETTLED))
            continue
        if store.claim(delivery.id, "operator", include_unknown=True, sending=False):
            # A post in parts whose first part was confirmed before its command died has a known id.
            remote_id = given.get(delivery.id) or (delivery.parts[0] if delivery.parts else "")
            # An id the service confirmed to this delivery's own send (a part) is as the part was stored (broadcaster's,
            # or an import's), even given by hand too, and however spelled (a Discord message id names no webhook):
            # recorded as the operator's, withdraw left the post up.
            confirmed = _confirmed_part(all_destinations.get(delivery.destination), delivery, remote_id)
            remote_id = confirmed or remote_id
            origin = (delivery.remote_origin if confirmed
                      else BY_HAND if delivery.id in given else WRITTEN)
            store.mark_sent(delivery.id, remote_id, None, "marked sent by the operator after an interrupted send",
                            origin=origin)
            threading = _threading_after(store, all_destinations.get(delivery.destination), delivery, remote_id)
            marked.append((store.delivery(delivery.id), threading))
    return marked


DELETED_BY_HAND = ("recorded done by the operator (`retry --mark-deleted`): {posts} deleted by hand, since this "
                   "table's credentials cannot delete {them} (another account's or instance's){rest}")


def deletes_to_mark(config: Config, store: Store, incident_id: str, names: Sequence[str]) -> list[int]:
    """The withdrawal's deletes ``--mark-deleted DEST[:CHAT]`` names: each name must match a failed (or unknown)
    delete of ``incident_id``'s withdrawal that this table's credentials refuse on a post (``engine.not_deletable``):
    a typo, a post still to send, or a delete a plain ``retry`` finishes must never be recorded done. Refused
    before anything is recorded or sent."""
    incident = find_incident(store, incident_id)
    candidates = _withdrawal_deletes(config, store, incident.id)
    settle = {d.id: bool(not_deletable(found, left_to_delete(store, d), d.target)) for d, found in candidates}
    accepted = sorted({name for d, _ in candidates if settle[d.id] for name in _names_of(d)})
    done = {name for d in _withdrawal_deletes_done(store, incident.id) for name in _names_of(d)}
    chosen: dict[int, None] = {}
    for name in names:
        matching = [d for d, _ in candidates if name in _names_of(d)]
        if not matching and name in done:  # run again (a script's retry): nothing left to record
            raise InputError(f"--mark-deleted {printable(name, one_line=True)}: the withdrawal of {incident.id} is "
                             "recorded deleted by hand there already (`broadcaster show` says so). Nothing was recorded or sent.")
        if not any(settle[d.id] for d in matching):
            undecided = next((why for d, found in candidates if d in matching
                              for why in _undecided(found, left_to_delete(store, d), d.target)), "")
            if undecided:
                raise InputError(_not_told_now(incident.id, name, undecided))
            raise InputError(_why_not_marked(incident.id, incident.withdrawn_at is not None, name, matching, accepted))
        chosen.update(dict.fromkeys(d.id for d in matching if settle[d.id]))
    return list(chosen)


def _undecided(destination: Destination, remote_ids: Sequence[str], target: str) -> list[str]:
    """Why, for each post whose deletability only the service can tell and did not now (``NotKnownBeforeLogin``: a
    Mastodon instance that would not say whose the token is, a Bluesky handle changed since its last login)."""
    found = (destination.not_deletable_here(remote_id, target) for remote_id in remote_ids)
    return [why for why in found if isinstance(why, NotKnownBeforeLogin)]


def _not_told_now(incident_id: str, name: str, why: str) -> str:
    """Refused as "a plain retry finishes it", that retry failed there again (exit 3), as every one would."""
    return (f"--mark-deleted {printable(name, one_line=True)}: whether this table's credentials can delete the "
            f"withdrawal's posts there could not be told now ({why.rstrip('.')}). Run `broadcaster retry {incident_id}`, "
            "which asks as it deletes, then this again once the service answers. Nothing was recorded or sent.")


def _withdrawal_deletes(config: Config, store: Store, incident_id: str) -> list[tuple[Delivery, Destination]]:
    """The incident's withdrawal's deletes (not a "posted in error" note, nor a post) that failed or are of
    unknown fate, where this config has the destination: only it can tell which posts its credentials refuse."""
    found = destinations(config, store)  # with the store: what a channel learnt at its last login (a DID)
    deletes = []
    for delivery in store.deliveries(incident_id=incident_id, states=(DeliveryState.FAILED, DeliveryState.UNKNOWN)):
        destination = found.get(delivery.destination)
        update = store.update(delivery.incident_id, delivery.sequence)
        if (destination is not None and not destination.idempotent and update is not None
                and update.kind == "withdrawal" and repeats_safely(delivery, destination, update)):
            deletes.append((delivery, destination))
    return deletes


def _withdrawal_deletes_done(store: Store, incident_id: str) -> list[Delivery]:
    """The incident's withdrawal's deletes ``--mark-deleted`` recorded done already."""
    recorded = DELETED_BY_HAND.partition(":")[0]
    return [d for d in store.deliveries(incident_id=incident_id, states=(DeliveryState.SENT,))
            if (d.last_error or "").startswith(recorded)]


def _names_of(delivery: Delivery) -> tuple[str, ...]:
    """What ``--mark-deleted`` may name a delivery by: its destination, and ``DEST:CHAT`` where it has a chat."""
    return (delivery.destination, *([f"{delivery.destination}:{delivery.target}"] if delivery.target else []))


def _why_not_marked(incident_id: str, withdrawn: bool, name: str, matching: Sequence[Delivery],
                    accepted: Sequence[str]) -> str:
    shown = printable(name, one_line=True)
    unchanged = " Nothing was recorded or sent."
    if not withdrawn:
        return (f"--mark-deleted {shown}: {incident_id} is not withdrawn, and --mark-deleted records only a "
                "withdrawal's deletes done by hand (a post still to send is sent by `broadcaster retry`, never "
                f"dropped).{unchanged}")
    if matching:
        return (f"--mark-deleted {shown}: the withdrawal's delete there failed on no post this table's credentials "
                f"cannot delete, so `broadcaster retry {incident_id}` finishes it (a post already deleted by hand "
                f"counts as deleted there).{unchanged}")
    hint = did_you_mean(name, accepted) or (
        f" It accepts: {', '.join(accepted)}." if accepted else
        " None here: no delete of its withdrawal failed on a post this table's credentials cannot delete.")
    return (f"--mark-deleted {shown}: no delete of {incident_id}'s withdrawal failed there on a post this table's "
            f"credentials cannot delete (another account's or instance's).{hint}{unchanged}")


def mark_deleted(config: Config, store: Store, delivery_ids: Sequence[int]) -> tuple[list[tuple[Delivery, str]], list[int]]:
    """Record each withdrawal's delete (``deletes_to_mark``) done, its posts this table cannot delete deleted by hand
    as the operator says: (those recorded, each with what it says; those left, which still hold a post this table
    can delete, for ``retry`` to delete first: only what it can never delete is taken on the operator's word)."""
    found = destinations(config, store)
    marked, left = [], []
    for delivery_id in delivery_ids:
        delivery = store.delivery(delivery_id)
        destination = found.get(delivery.destination)
        if delivery.state not in (DeliveryState.FAILED, DeliveryState.UNKNOWN) or destination is None:
            continue  # deleted meanwhile (the old credentials back), or taken by another command
        posts = left_to_delete(store, delivery)
        by_hand = not_deletable(destination, posts, delivery.target)
        if set(posts) - set(by_hand) or not store.claim(delivery.id, "operator", include_unknown=True, sending=False):
            left.append(delivery_id)
            continue
        rest = f"; {len(delivery.parts)} other post(s) here deleted by broadcaster" if delivery.parts else ""
        note = DELETED_BY_HAND.format(posts=", ".join(by_hand), them="it" if len(by_hand) == 1 else "them", rest=rest)
        store.mark_sent(delivery.id, "", None, note)
        marked.append((store.delivery(delivery.id), note))
    return marked, left


def not_marked_deleted(config: Config, store: Store, delivery_ids: Sequence[int]) -> list[tuple[Delivery, str]]:
    """Those ``mark_deleted`` left after the retry tried them: each with why (the posts still up that this table
    can delete), and what to do."""
    found, configured = [], destinations(config, store)
    for delivery_id in delivery_ids:
        delivery = store.delivery(delivery_id)
        destination = configured.get(delivery.destination)
        if delivery.state in DONE_STATES or destination is None:
            continue
        posts = left_to_delete(store, delivery)
        its_own = [p for p in posts if p not in not_deletable(destination, posts, delivery.target)]
        place = delivery.destination + (f":{delivery.target}" if delivery.target else "")
        found.append((delivery, (
            f"not recorded as deleted by hand: the withdrawal's delete there still has post(s) this table can delete "
            f"itself ({', '.join(its_own)}), and deleting them failed ({delivery.state}; `broadcaster show "
            f"{delivery.incident_id}` has why). "
            f"Once that is seen to, `broadcaster retry {delivery.incident_id} --mark-deleted {place}` deletes them "
            "and records the rest")))
    return found


def with_marked(result: RetryResult, marked: Sequence[tuple[Delivery, str]]) -> RetryResult:
    """``result`` with the outcomes of the deliveries ``mark_deleted`` recorded after it as they now stand."""
    now = {(d.incident_id, d.sequence, d.destination, d.target): (d, note) for d, note in marked}
    outcomes = []
    for outcome in result.outcomes:
        found = now.get((outcome.incident_id, outcome.sequence, outcome.destination, outcome.target))
        outcomes.append(outcome if found is None else Outcome.of(found[0], notes=(found[1],)))
    return replace(result, outcomes=outcomes)


def _confirmed_part(destination: Destination | None, delivery: Delivery, remote_id: str) -> str | None:
    """The delivery's confirmed part (as the service answered it) that ``remote_id`` names, if any."""
    if not remote_id:
        return None
    for part in delivery.parts:
        if part == remote_id or (destination is not None and destination.same_post(part, remote_id)):
            return part
    return None


SETTLED = "settled by the operator after the incident was withdrawn (checked, and deleted by hand if it was there)"


def withdrawn_before(store: Store, deliveries: Sequence[Delivery]) -> set[int]:
    """The ids of deliveries of a withdrawn incident's earlier updates: never to be sent again."""
    found = set()
    for incident_id in {d.incident_id for d in deliveries}:
        incident = store.incident(incident_id)
        if incident is None or incident.withdrawn_at is None:
            continue
        withdrawal = max((u.sequence for u in store.updates(incident_id) if u.kind == "withdrawal"), default=0)
        found |= {d.id for d in deliveries if d.incident_id == incident_id and d.sequence < withdrawal}
    return found


def refuse_ids_of_withdrawn(remote_ids: Sequence[str], unknown: Sequence[Delivery], withdrawn: set[int]) -> None:
    """An id given by hand is never deleted (it may name someone else's post): refuse it for a withdrawn
    incident's post instead of recording an id nothing will act on."""
    for pair in remote_ids:
        name = pair.partition("=")[0].strip().partition(":")[0]
        if any(d.id in withdrawn and d.destination == name for d in unknown):
            raise InputError(
                f"--remote-id {pair!r}: that post belongs to a withdrawn incident, and broadcaster never deletes a post "
                "by an id given by hand. Delete it by hand, then run --mark-unknown-sent without --remote-id."
            )


def _remote_ids_for(
    store: Store, all_destinations: dict[str, Destination], unknown: Sequence[Delivery], remote_ids: Sequence[str]
) -> dict[int, str]:
    """Match each ``DEST[:TARGET]=REF`` to exactly one unknown delivery; the remote id per delivery id."""
    found: dict[int, str] = {}
    given_as: dict[int, str] = {}
    for pair in remote_ids:
        where, sep, reference = pair.partition("=")
        name, _, target = where.strip().partition(":")
        matches = [d for d in unknown if d.destination == name and (not target or _same_target(
            all_destinations.get(name), d.target, target))]
        if not sep or len(matches) != 1:
            choices = ", ".join(sorted({d.destination + (f":{d.target}" if d.target else "") for d in unknown})) or "none"
            problem = "write it as DEST=ID or DEST:CHAT=ID" if not sep else (
                "matches no delivery whose fate is unknown" if not matches else
                "matches several deliveries whose fate is unknown (name the incident, or the chat as DEST:CHAT)")
            raise InputError(f"--remote-id {pair!r}: {problem}. Unknown here: {choices}.")
        delivery = matches[0]
        destination = all_destinations.get(name)
        if destination is None:
            raise InputError(f"--remote-id {pair!r}: {name!r} is not a channel in the config, so its post ids cannot be read.")
        try:
            # As typed, before a channel reads it: Telegram's int() took "٣" for message 3, and "4²" ended the command
            # "unexpected error", where the README says digits other than 0-9 are refused.
            _refuse_other_digits(reference)
            found[delivery.id] = destination.remote_id_from(reference, delivery.target)
            _refuse_unnameable(delivery, found[delivery.id])
            _refuse_another_place(store, destination, delivery, found[delivery.id])
            _refuse_another_delivery_s(store, destination, delivery, found[delivery.id])
        except InputError as exc:
            raise InputError(f"--remote-id {pair!r}: {exc}") from exc
        given_as[delivery.id] = pair
    return _checked_by_the_services(store, all_destinations, unknown, found, given_as) if found else found


def _checked_by_the_services(store: Store, all_destinations: Mapping[str, Destination], unknown: Sequence[Delivery],
                             found: dict[int, str], given_as: Mapping[int, str]) -> dict[int, str]:
    """Each id given by hand, asked of its service where only it tells whose post it is, and which thread it is in
    (``checked_post_id``): read offline, an X link of another account's post was recorded as this account's, and
    later updates replied under a stranger's post; a Slack reply in another incident's thread was recorded as this
    update's. Before anything is stored; `retry` is not timed."""
    import asyncio

    by_id = {d.id: d for d in unknown}

    async def check_each() -> dict[int, str]:
        checked: dict[int, str] = {}
        used = {by_id[i].destination for i in found}
        try:
            for delivery_id, remote_id in found.items():
                delivery = by_id[delivery_id]
                destination = all_destinations[delivery.destination]
                try:
                    checked[delivery_id] = await destination.checked_post_id(
                        remote_id, delivery.target, _replies_to(store, destination, delivery, remote_id))
                    # As the service completed it (a Discord link's channel read as no thread, the webhook named):
                    # the post another delivery recorded may only now be seen to be that one.
                    if checked[delivery_id] != remote_id:
                        _refuse_another_delivery_s(store, destination, delivery, checked[delivery_id])
                except InputError as exc:
                    raise InputError(f"--remote-id {given_as[delivery_id]!r}: {exc}") from exc
        finally:
            for name in used:
                await all_destinations[name].close()
        return checked

    return asyncio.run(check_each())


def _replies_to(store: Store, destination: Destination, delivery: Delivery, remote_id: str) -> str | None:
    """Where the post of unknown fate went, for its service to check the id given against (``checked_post_id``): the
    remote id of the thread's first post it replied under, as the engine chose it (``thread_of``), or "" where it
    started its thread. The thread then is the thread now: the engine holds every later update back while an earlier
    one's fate is open. None for a correction that edited the post the id names in place (any earlier post)."""
    if _edited_in_place(store, destination, delivery, remote_id):
        return None
    if delivery.starts_thread:
        return ""
    history = store.thread_history(delivery.incident_id, delivery.destination, delivery.target, delivery.sequence)
    thread = thread_of(made_alike(destination, delivery.visibility, delivery.target, history))
    return thread.first_remote_id if thread is not None else ""


def _same_target(destination: Destination | None, stored: str, given: str) -> bool:
    """Whether the chat an operator gave (``DEST:CHAT``) is the delivery's: `tg:@acmestatus` is the chat a delivery
    stored as @AcmeStatus went to (Telegram's @names ignore case), and was refused as matching no delivery."""
    if stored == given:
        return True
    return destination is not None and destination.target_key(stored) == destination.target_key(given)


# What ``errors.printable`` writes for a hidden character ("\\u200b", "\\x1b"): an id copied from `show` or a log.
_AS_SHOWN = lazy_re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _refuse_unnameable(delivery: Delivery, remote_id: str) -> None:
    """An id given by hand is stored as given and sent back (a reply, an edit): one holding what no service's id
    holds is refused. An invisible character come with a copy made the store's export unimportable and a reply
    under it refused for good; "…" or an escape (an id cut or escaped where it was copied: a narrow column,
    ``show``) names no post (``names_no_post``), so later updates would not thread under it, said they would."""
    if remote_id in delivery.parts:
        return  # the service's own answer to this delivery, as the store keeps it (``storable_id``)
    gate.normalise(remote_id, "the id")  # an invisible or control character: says which, and where
    if any(char in "\n\t\u2028\u2029" for char in remote_id) or len(remote_id) > MAX_ID:
        raise InputError(
            f"{remote_id[:60]!r} has a line break or is over {MAX_ID:,} characters, which no post id is. Copy the "
            "post's link or id from the service again; nothing was stored or sent."
        )
    _refuse_other_digits(remote_id)
    if names_no_post(remote_id) or _AS_SHOWN.search(remote_id):
        raise InputError(
            f"{remote_id[:80]!r} holds \"…\" or an escape such as \\u200b, which no post id holds: it was cut or escaped "
            "where it was copied from (a narrow column, `show`, a log), names no post, and later updates would not "
            "thread under it. Copy the post's link or whole id from the service; nothing was stored or sent."
        )


def _refuse_other_digits(remote_id: str) -> None:
    """Python's digits are every script's ("１２３", "١٢٣" match the channels' ``\\d``), no service's id is: taken, an X
    reply under it was refused for good ("is not a Tweet id") and every later update there failed; Mastodon said
    the status gone, posted a correction anew and started another thread; and another delivery's post, given so,
    was not seen to be that one's."""
    other = next((char for char in remote_id if char.isdigit() and not char.isascii()), None)
    if other is not None:
        name = unicodedata.name(other, "a digit").lower()
        raise InputError(
            f"{printable(remote_id[:80], one_line=True)} holds {other!r} ({name}), a digit of another script than "
            "0-9, which no post id holds: it names no post, and later updates could not reply to it. Type the id "
            "with the digits 0-9, or copy the post's link; nothing was stored or sent."
        )


def _refuse_another_place(store: Store, destination: Destination, delivery: Delivery, remote_id: str) -> None:
    """A post id naming another place than this delivery's is refused: a correction edits the post in the
    place its id names (a public channel's, pasted for a customer's). Where the config names the place by
    something else (a Slack channel by its name), the place of the posts broadcaster made there decides."""
    if destination.names_its_location():
        return
    where = destination.remote_location(remote_id)
    if where is None:
        return
    seen = {destination.remote_location(d.remote_id) for d in store.deliveries(states=(DeliveryState.SENT,))
            if d.destination == delivery.destination and d.target == delivery.target and d.remote_id
            and d.remote_origin == WRITTEN}
    if where not in seen:
        raise InputError(
            f"{remote_id} is a post in {where}, and broadcaster has posted to {delivery.destination} only in "
            f"{', '.join(sorted(p for p in seen if p)) or 'no place it can compare with yet'}. Copy the link of the "
            "post in that channel; or give the channel by its id in the config, which lets broadcaster check it."
        )


def _refuse_another_delivery_s(store: Store, destination: Destination, delivery: Delivery, remote_id: str) -> None:
    """An id given by hand that names a post broadcaster recorded for another delivery here (another incident's
    first post, an earlier update's) is refused: later updates of this incident replied under it, and Slack's
    first message of that thread, edited to show the latest status, showed this incident's title and status in
    place of the other's. A correction that edits a post in place records that post's id (``engine.post_to_edit``):
    given for it, that id is this delivery's own, never refused as the corrected update's."""
    if _edited_in_place(store, destination, delivery, remote_id):
        return
    for other in store.deliveries():
        if other.destination != delivery.destination or other.id == delivery.id:
            continue
        if any(stored and destination.same_post(stored, remote_id) for stored in (other.remote_id, *other.parts)):
            raise InputError(
                f"{printable(remote_id, one_line=True)} is the post broadcaster recorded for {other.incident_id} "
                f"update #{other.sequence} here, not this update's: later updates of {delivery.incident_id} would "
                "thread under it, and a correction would edit it. Copy the link of this update's own post; nothing "
                "was stored or sent."
            )


def _edited_in_place(store: Store, destination: Destination, delivery: Delivery, remote_id: str) -> bool:
    """Whether ``delivery`` is a correction whose send edits in place the post ``remote_id`` names: the engine
    records the edited post's id for it, so that id, found corrected, is what the operator gives."""
    update = store.update(delivery.incident_id, delivery.sequence)
    corrects = corrected_sequence(update) if update is not None else None
    if corrects is None or not destination.can_edit or delivery.parts:
        return False
    edited = post_to_edit(store, destination, delivery.incident_id, delivery.target, delivery.visibility,
                          delivery.sequence, corrects, store.update(delivery.incident_id, corrects))
    return bool(edited) and (edited == remote_id or destination.same_post(str(edited), remote_id))


def _threading_after(store: Store, destination: Destination | None, delivery: Delivery, remote_id: str) -> str:
    """What later updates to this destination will thread under, said plainly."""
    # A service's id (a confirmed part, or an import's) as every line shows one: a right-to-left override in it
    # reversed the rest of this line, on the terminal and in `--json`'s "threading".
    shown = bounded(printable(remote_id, one_line=True))
    if not _carried_on(destination, delivery, remote_id):
        # The config changed since this post was planned: later updates are for other readers, or go to another
        # place, and the engine threads them only under posts made alike (``engine.made_alike``), never this one.
        return (f"later updates there are for other readers or go to another place than this post (the config changed "
                f"since), so {_without_its_id(store, destination, delivery)}")
    if remote_id and not names_no_post(remote_id):
        return f"later updates thread under {shown}"
    if remote_id:
        # A confirmed part stored escaped or cut: the engine threads nothing under it, and said it would.
        return (f"its post id {shown} names no post (a character the service put in it is stored as its escape, "
                f"or the id was cut), so {_without_its_id(store, destination, delivery)}; a withdrawal leaves that post up for "
                "you to delete by hand")
    give = f"--remote-id {delivery.destination}{':' + delivery.target if delivery.target else ''}=ID"
    if delivery.starts_thread:
        # Posted on its own because the thread's first message was gone: the earlier posts are no thread to join.
        return ("it started the thread anew (the thread's first message was gone), and its post id is unknown, so "
                f"later updates there start yet another thread; to keep one thread, give the post's id or link: {give}")
    if _restarted_unnamed(store, destination, delivery):
        # Its id, given, is what later updates thread under (``engine.since_the_latest_restart``): the posts
        # before the restart are no thread, and the restart's own id is unknown.
        return (f"its post id is unknown, and {_ANOTHER_THREAD}; to have them thread under this post, give its id "
                f"or link: {give}")
    known = _earlier_known(store, destination, delivery)
    if known is not None:
        return f"its post id is unknown; later updates thread under update #{known}'s post instead"
    return (
        f"its post id is unknown, so later updates there start a new thread; to keep one thread, give the post's id or "
        f"link: {give}"
    )


# An earlier update's post is no thread to join once a later one started the thread anew: its first message was gone.
_ANOTHER_THREAD = ("later updates there start yet another thread (the thread's first message was gone, and no id names the "
                   "post that started it anew)")


def _without_its_id(store: Store, destination: Destination | None, delivery: Delivery) -> str:
    """What later updates thread under when this delivery's own id names none (or they do not thread under it)."""
    if (delivery.starts_thread and _carried_on(destination, delivery, "")) or _restarted_unnamed(store, destination, delivery):
        return _ANOTHER_THREAD
    known = _earlier_known(store, destination, delivery)
    return ("later updates there start a new thread" if known is None
            else f"later updates thread under update #{known}'s post instead")


def _restarted_unnamed(store: Store, destination: Destination | None, delivery: Delivery) -> bool:
    """Whether the latest earlier post that started the thread anew has no id naming a post, nor any post after it:
    the engine threads only under posts from that restart on (``engine.since_the_latest_restart``), so it starts
    another thread. A later post whose id is known carries the thread instead (``_earlier_known``)."""
    earlier = _alike_earlier(store, destination, delivery)
    restarts = [d for d in earlier if d.state == DeliveryState.SENT and d.starts_thread]
    return bool(restarts) and _earlier_known(store, destination, delivery) is None


def _earlier_known(store: Store, destination: Destination | None, delivery: Delivery) -> int | None:
    """The sequence of the latest earlier update whose post here the engine threads under (``engine.thread_of``:
    an id that names no post is not known, nor is a post before the latest that started the thread anew)."""
    earlier = _alike_earlier(store, destination, delivery)
    known = [d for d in since_the_latest_restart(earlier)
             if d.state == DeliveryState.SENT and d.remote_id and not names_no_post(d.remote_id)]
    return known[-1].sequence if known else None


def _alike_earlier(store: Store, destination: Destination | None, delivery: Delivery) -> list[Delivery]:
    """The earlier posts of this incident here that the next update may thread under, as the engine reads them
    (``engine.made_alike``): those made for the readers, and in the place, the config names now. Read unfiltered,
    `retry` named an earlier post made for the public (or in the channel a table left) that the next update, now
    for staff, did not thread under: it started a new thread."""
    earlier = store.thread_history(delivery.incident_id, delivery.destination, delivery.target, delivery.sequence)
    return _made_alike(destination, delivery, earlier)


def _carried_on(destination: Destination | None, delivery: Delivery, remote_id: str) -> bool:
    """Whether the next update here may thread under this delivery's post ``remote_id`` ("": unknown) as
    ``engine.made_alike`` reads it: made for the readers, and in the place, the config names now."""
    return destination is not None and bool(made_alike(destination, destination.visibility, delivery.target,
                                                       [replace(delivery, remote_id=remote_id or None)]))


def _made_alike(destination: Destination | None, delivery: Delivery, earlier: Sequence[Delivery]) -> list[Delivery]:
    """``earlier``'s posts the next update to ``delivery``'s destination and target threads under or edits: none
    where the config no longer has the destination."""
    if destination is None:
        return []
    return made_alike(destination, destination.visibility, delivery.target, earlier)


@dataclass
class RetryResult:
    outcomes: list[Outcome]
    unknown: list[Delivery]  # posts whose fate is unknown, left for the operator to settle
    withdrawn: set[int] = field(default_factory=set)  # those of a withdrawn incident: delete by hand, never resend
    # Still being sent by another command (another machine's, or one killed within its lease): not sent again here.
    elsewhere: list[Delivery] = field(default_factory=list)
    lease: timedelta = timedelta(0)  # how long such a claim is trusted from its ``claimed_at``
    # Being sent by a live command of this machine (a `post` beside a cron job's retry): that command reports how
    # they end, but they are neither sent nor skipped yet, and the summary must not say they are.
    sending_here: int = 0

    @property
    def failed(self) -> bool:
        """Something is still not sent: a delivery failed, a post's fate is unknown, or another command has it."""
        return bool(self.unknown or self.elsewhere) or any(o.state not in DONE_STATES for o in self.outcomes)


def retry(
    config: Config,
    store: Store,
    incident_id: str | None = None,
    *,
    include_unknown: bool = False,
    progress: Progress | None = None,
    skip_removed: Collection[str] = (),
) -> RetryResult:
    """Send every delivery not yet sent, oldest first.

    A post whose fate is ``unknown`` is resent only with ``include_unknown``;
    site and host deliveries are redone whatever their state, since uploading
    again is harmless. In team mode a delivery to a destination or chat this
    config does not have is left for a machine whose config has it
    (``_left_for_another_config``), unless its destination is in ``skip_removed``
    (checked by ``waiting_elsewhere``); so is one to a channel this config has
    for other readers.
    """
    if incident_id:
        incident_id = find_incident(store, incident_id).id
    check_customers(config, store, consequence="Nothing was sent.")
    publisher = Publisher(config, store, progress=progress)
    publisher.reap()
    todo = retry_todo(config, store, incident_id, include_unknown=include_unknown)
    todo, elsewhere_configured = ((todo, []) if store.one_machine
                                  else _left_for_another_config(config, store, todo, progress, set(skip_removed)))
    todo, unset = _left_where_unset(config, store, todo, progress)
    todo, stopped = hold_stored(store, todo, check_shared_rooms(config, store))
    outcomes = [*elsewhere_configured, *unset, *(Outcome.of(store.delivery(i)) for i in sorted(stopped)),
                *publisher.deliver(todo, include_unknown=include_unknown)]
    unknown = store.deliveries(incident_id=incident_id, states=(DeliveryState.UNKNOWN,))
    withdrawn = withdrawn_before(store, unknown)
    if include_unknown:  # resent above, except a withdrawn incident's: those stay for the operator
        unknown = [d for d in unknown if d.id in withdrawn]
    # Claimed by another machine, or by a process that died within its lease: this machine's live commands (a
    # withdraw running beside this retry) report their own outcome.
    sending = store.deliveries(incident_id=incident_id, states=(DeliveryState.SENDING,))
    elsewhere = [d for d in sending if not alive_here(d.claimed_by or "")]
    return RetryResult(outcomes, unknown, withdrawn, elsewhere, publisher.lease, len(sending) - len(elsewhere))


def waiting_elsewhere(config: Config, store: Store, incident_id: str | None, *, include_unknown: bool) -> set[str]:
    """The destinations ``retry`` would leave for another member's config (``_left_for_another_config``), each also
    as ``DEST:CHAT`` where it has a chat: what ``--skip-removed`` may name. None for one machine."""
    if store.one_machine:
        return set()
    found, kinds = destinations(config, store), _Kinds(store)
    waiting = set()
    for d in retry_todo(config, store, incident_id, include_unknown=include_unknown):
        if _not_configured_here(config, found, d, store, kinds):
            waiting |= {d.destination, *([f"{d.destination}:{d.target}"] if d.target else [])}
    return waiting


def _left_for_another_config(
    config: Config, store: Store, todo: Sequence[Delivery], progress: Progress | None, skip: Collection[str],
) -> tuple[list[Delivery], list[Outcome]]:
    """(the deliveries that may go, the outcomes of those left as they are): in team mode, one whose destination,
    or whose chat of a configured channel, this config does not have, or has for other readers. The machines of a team need not read one
    config (a laptop not yet given the new customer's channel): skipping it here, as one machine does after its
    config changed, took for good what another machine was still to send (a customer never told of its incident).
    Left pending or failed, it counts as not sent (exit 3), and says what sends it or what skips it for good: those
    of a destination in ``skip`` (``--skip-removed``) go on, and the engine skips them (``no_longer_wanted``)."""
    found, kinds = destinations(config, store), _Kinds(store)
    kept, left = [], []
    for delivery in todo:
        where = _not_configured_here(config, found, delivery, store, kinds)
        if not where or delivery.destination in skip or f"{delivery.destination}:{delivery.target}" in skip:
            kept.append(delivery)
            continue
        outcome = replace(Outcome.of(delivery), error=advice.left_for_another_config(where, delivery.destination,
                                                                                     delivery.target))
        if progress is not None:
            progress.finished(outcome)
        left.append(outcome)
    return kept, left


def _not_configured_here(config: Config, found: Mapping[str, Destination], delivery: Delivery, store: Store,
                         kinds: _Kinds) -> str:
    """``not_configured_here`` of a stored delivery. A withdrawal's delete that another member recorded for a
    config that has the place (``withdrawing.left_for_other_configs``) is left by one whose same-named table
    cannot delete: that is another place, and its "posted in error" note there, marked sent, left the posts up
    (review 28d)."""
    here = found.get(delivery.destination)
    recorded = (delivery.last_error or "").startswith(advice.LEFT_FOR_ANOTHER_CONFIG) and kinds.withdraws(delivery)
    if recorded and here is not None and not (here.can_delete or here.idempotent):
        return f"{delivery.destination} in this machine's config cannot delete posts, so it is not where they were made"
    deleting = is_subscribers(delivery.destination) and kinds.withdraws(delivery)
    return not_configured_here(config, found, delivery.destination, delivery.target, delivery.visibility, store,
                               stored_at=delivery.created_at, deleting=deleting)


class _Kinds(dict[tuple[str, int], str]):
    """Each update's kind, read once: a retry of a thousand chats' deliveries of one update would otherwise read
    its row a thousand times (a round trip each, in team mode)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def withdraws(self, delivery: Delivery) -> bool:
        """Whether the delivery is a withdrawal's: to the bot's chats, a delete (``engine.Engine._deletes_only``)."""
        key = (delivery.incident_id, delivery.sequence)
        if key not in self:
            update = self.store.update(*key)
            self[key] = update.kind if update is not None else ""
        return self[key] == "withdrawal"


def _left_where_unset(
    config: Config, store: Store, todo: Sequence[Delivery], progress: Progress | None,
) -> tuple[list[Delivery], list[Outcome]]:
    """(the deliveries that may go, the outcomes of those left): one whose destination's secret is not set where
    this retry runs is not sent. A pending or failed one is recorded failed saying which variable to export; an
    ``unknown`` one keeps its state (it may have arrived) and is reported with the same advice.

    The rest go, as ``tick`` does (``lifecycle._failed_where_unset``): refusing the whole retry for one variable
    missing from a cron job's environment held back every channel whose secret is set, and advised ``--skip``,
    which is an option of ``post``, not of ``retry``."""
    unset = {name: "; ".join(config.missing_secrets({name})) for name in {d.destination for d in todo}}
    kept, left = [], []
    for delivery in todo:
        missing = unset[delivery.destination]
        if not missing:
            kept.append(delivery)
            continue
        why = _why_left(config, store, delivery, missing)
        if delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED):
            with store.batch():  # taken first, so a delivery another command is sending right now is left to it
                if store.claim(delivery.id, process_owner(), sending=False):
                    store.mark_failed(delivery.id, why)
        outcome = Outcome.of(store.delivery(delivery.id))
        if outcome.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN):
            outcome = replace(outcome, error=why)
        if progress is not None:
            progress.finished(outcome)
        left.append(outcome)
    return kept, left


def _why_left(config: Config, store: Store, delivery: Delivery, missing: str) -> str:
    """What to do about a delivery left because ``missing`` is unset. A post of unknown fate is never resent by a
    plain ``retry`` (it may have arrived): it names what settles it, unless plain ``retry`` redoes it anyway (the
    site, a host, a withdrawal's delete in doubt)."""
    export = (f"{missing} has no value where `broadcaster retry` ran. Export it there (for a cron job or a systemd unit, "
              "in its environment)")
    if delivery.state != DeliveryState.UNKNOWN or _redone_by_plain_retry(config, store, delivery):
        return f"not sent: {export}, then `broadcaster retry` sends this."
    return (f"not sent, and it may have arrived: {export}. Check {delivery.destination}: if it is there, "
            f"`broadcaster retry {delivery.incident_id} --mark-unknown-sent`; if it is not, "
            f"`broadcaster retry {delivery.incident_id} --include-unknown` with the variable set sends it. A plain "
            "`broadcaster retry` never resends it.")


def _redone_by_plain_retry(config: Config, store: Store, delivery: Delivery) -> bool:
    """Whether a plain ``retry`` redoes this ``unknown`` delivery (``retry_todo``): the site and its hosts, or a
    withdrawal's delete, which is harmless to repeat."""
    destination = destinations(config).get(delivery.destination)
    if destination is None:
        return False
    return destination.idempotent or repeats_safely(delivery, destination, store.update(delivery.incident_id,
                                                                                         delivery.sequence))


def _deletes_in_doubt(config: Config, store: Store, incident_id: str | None) -> list[Delivery]:
    """A withdrawal's deletes whose fate is unknown (a command killed while they were out): deleting again is
    harmless, so a plain retry does it."""
    found = destinations(config)
    return [d for d in store.deliveries(incident_id=incident_id, states=(DeliveryState.UNKNOWN,))
            if (destination := found.get(d.destination)) is not None and not destination.idempotent  # the site: above
            and repeats_safely(d, destination, store.update(d.incident_id, d.sequence))]


def retry_todo(config: Config, store: Store, incident_id: str | None, *, include_unknown: bool) -> list[Delivery]:
    """What ``retry`` sends, oldest first."""
    states = (DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.UNKNOWN) if include_unknown else (DeliveryState.PENDING, DeliveryState.FAILED)
    todo = store.deliveries(incident_id=incident_id, states=states)
    withdrawn = withdrawn_before(store, todo)  # a withdrawn incident's old updates never go out again
    todo = [d for d in todo if d.id not in withdrawn]
    if not include_unknown:
        todo += [d for d in stale_site_deliveries(config, store, incident_id) if d.state == DeliveryState.UNKNOWN]
        todo += _deletes_in_doubt(config, store, incident_id)
    todo.sort(key=lambda d: (d.created_at, d.incident_id, d.sequence, d.id))
    return todo
