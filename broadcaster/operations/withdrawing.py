"""Withdrawing an incident posted in error: off the page, the feeds and the JSON; its public posts deleted.

The withdrawal is an update of kind "withdrawal" stored with its deliveries like any
other (the outbox), so it is retried and never lost:

* the site and each host: rebuilt without the incident (its pages removed, hosts delete them);
* a public channel that can delete: every post of the incident there is deleted;
* a public channel that cannot: a short "posted in error" follow-up;
* a private channel: a note "Withdrawn by X" with the reason; the staff's record stays.

Destinations where nothing of the incident was posted are skipped. The reason is the
update's private note: staff see it, the public never does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from broadcaster.compose import author_name, refuse_secrets
from broadcaster.config import Config, is_subscribers
from broadcaster.delivery import DeliveryState, NotKnownBeforeLogin
from broadcaster.destination import Destination, names_target
from broadcaster.destinations import StoredSpellings, SubscriberDestination, destinations, not_configured_here
from broadcaster.engine import Progress, moved_here, withdrawn_posts
from broadcaster.messages import advice, gate
from broadcaster.messages.announcements import POSTED_IN_ERROR
from broadcaster.messages.model import Incident, Update, Visibility
from broadcaster.notices import COVERED, waiting_where_left_out
from broadcaster.operations.posting import (
    PostResult,
    Preview,
    check_customers,
    find_incident,
    not_in_this_config,
    notices_left_out_before,
    previews,
    publish_stored,
    refuse_missing_secrets,
    refuse_unowned_folders,
    refuse_withdrawn,
    sla_notices,
)
from broadcaster.operations.rooms import check_shared_rooms, hold_back
from broadcaster.store import Delivery, PlannedDelivery, Store, utcnow

IN_DOUBT = ("withdrawn while this post's fate was unknown: it may exist, and broadcaster has no id to delete it "
            "by. Look at {where}; delete it by hand if it is there, then `broadcaster retry {incident} "
            "--mark-unknown-sent` to record that it is settled")
REBUILT = "rebuilt without it: its page, its feed entries and its JSON are removed"


@dataclass
class WithdrawResult(PostResult):
    in_doubt: list[Delivery] = field(default_factory=list)  # posts it could not act on (fate unknown): by hand

    @property
    def failed(self) -> bool:
        """A post left in doubt is not done: exit 3 until the operator settles it (``retry``)."""
        return super().failed or bool(self.in_doubt)


def withdraw(
    config: Config, store: Store, incident_id: str, reason: str = "", *, dry_run: bool = False,
    progress: Progress | None = None,
) -> WithdrawResult:
    """Store the withdrawal with its deliveries, stop the incident's unsent ones, and deliver it."""
    incident = find_incident(store, incident_id)
    refuse_withdrawn(incident, store)
    refuse_secrets([("--reason", reason)], config)  # staff's channels and the store keep it as written
    now = utcnow()
    update = Update(
        incident_id=incident.id, sequence=0, created_at=now, status=incident.status, raw_message=POSTED_IN_ERROR,
        private_note=gate.admit(reason.strip(), "--reason", gate.PRIVATE) if reason.strip() else "",
        author=author_name(config), kind="withdrawal",
    )
    planned = withdrawal_plan(config, store, incident)
    earlier = store.updates(incident.id)
    # No --skip here: a withdrawal deletes the incident's posts wherever they went, each destination's its own.
    refuse_missing_secrets(config, planned, "Export them, then withdraw it again (a withdrawal reaches every "
                           "destination the incident went to: none can be left out).")
    refuse_unowned_folders(config, store, planned)
    check_customers(config, store, dry_run=dry_run)
    held = check_shared_rooms(config, store, ask=not dry_run)
    planned = hold_back(planned, held)
    elsewhere = not_in_this_config(config, store, incident.id, planned)  # team mode; read before it is stored
    # Deleted by their own destination alone, wherever else this update reaches the chat (review 28d).
    posts_elsewhere = not_in_this_config(config, store, incident.id, planned, told_otherwise=False)
    planned += left_for_other_configs(config, store, incident, planned, posts_elsewhere)
    if dry_run:
        numbered = replace(update, sequence=store.next_sequence(incident.id))  # after those kept as history too
        found = destinations(config, store)  # with the store: what a channel learnt at its last login (a DID)
        unnamed = _at_unnamed_targets(found, store, incident)
        shown = [deleting_preview(found, store, incident, p, numbered.sequence, unnamed)
                 for p in previews(config, store, incident, numbered, earlier, planned)]
        # What the real run would leave up, read only: a preview that hid it would promise an incident gone.
        foreseen = _each_once(in_doubt_foreseen(config, store, numbered, planned)
                              + left_up(config, store, numbered, planned)
                              + not_deleted(store, incident, shown, numbered.sequence))
        return WithdrawResult(incident, numbered, False, previews=shown, dry_run=True, before=incident,
                              in_doubt=foreseen, elsewhere=_not_named(elsewhere, foreseen))
    stored, update = store.record_update(replace(incident, withdrawn_at=now), update, planned, new=False)
    planned = _where_posted_since(config, store, update, planned)
    settle_earlier(config, store, update, planned)
    # Its notices that never went out are stopped with it, told to nobody: a breach that still holds through
    # another incident (the uptime without this one) is raised there now, as a post raises one, and sent with it.
    notices, unraised = sla_notices(config, store)
    keys = [(stored.id, update.sequence), *((n.incident_id, n.sequence) for n in notices)]
    # Where a post whose notices waited behind the notices' lock left destinations out, they wait there still.
    waiting = waiting_where_left_out(store, notices, (), by_the_post=notices_left_out_before(store, unraised))
    delivered = publish_stored(config, store, keys, progress=progress, held=held, waiting=waiting)
    outcomes = [o for o in delivered if (o.incident_id, o.sequence) == keys[0]]
    # The withdrawal waited for posts still being sent, to delete them too. Settled again: one whose fate
    # turned unknown meanwhile has no id to delete by either, and one that failed must never go out.
    in_doubt = _each_once(settle_earlier(config, store, update, planned) + left_up(config, store, update, planned))
    return WithdrawResult(stored, update, False, outcomes=outcomes, in_doubt=in_doubt, before=incident,
                          notices=[o for o in delivered if (o.incident_id, o.sequence) != keys[0]], raised=notices,
                          elsewhere=_not_named(elsewhere, in_doubt), notes=[unraised] if unraised else [],
                          unraised=unraised)


def _not_named(elsewhere: list[tuple[str, str, str]], named: Sequence[Delivery]) -> list[tuple[str, str, str]]:
    """The places another member's config has that the withdrawal neither names as a post left up nor leaves a
    delete for (``left_for_other_configs``): staff's channels, whose note with the reason is not sent there (review
    27ry)."""
    left = {(d.destination, d.target) for d in named}
    return [place for place in elsewhere if place[:2] not in left and not _deletes_there(place[2])]


def _deletes_there(readers: str) -> bool:
    """Whether a withdrawal takes back what readers were shown there (``engine.Engine._deletes_only``, the site's
    rebuild), rather than sending them a note."""
    return Visibility.parse(readers).outside


class LeftForAnotherConfig(str):
    """A reason that marks a withdrawal's delivery recorded for another member's config (``left_for_other_configs``):
    it acts there, so ``left_up`` does not name its posts as left up."""

    __slots__ = ()


def left_for_other_configs(config: Config, store: Store, incident: Incident, planned: Sequence[PlannedDelivery],
                           elsewhere: Sequence[tuple[str, str, str]]) -> list[PlannedDelivery]:
    """Team mode: where the incident was shown to readers outside the company through a destination this config
    lacks (or has for other readers), the withdrawal's delivery there, recorded failed for ``retry`` on a machine
    whose config has it: its posts deleted (a bucket rebuilt without the incident), which is safe to do twice.
    Named only, as before review 28a, the customer's detail stayed up in their chat for good: nothing but the bot
    can reach it, and ``withdraw`` refuses a withdrawn incident. Staff's channels, whose note is text, are named
    only (``_not_named``), as a follow-up's "Not sent to" is."""
    found = destinations(config, store)
    planned_at = {(p.destination, p.target) for p in planned}
    posted = _posted(store.deliveries(incident_id=incident.id), _repeating_alike(found))
    left = []
    for name, target, readers in elsewhere:
        if (name, target) in planned_at or (name, target) not in posted or not _deletes_there(readers):
            continue
        why = not_configured_here(config, found, name, target, readers, store, deleting=True)
        reason = advice.left_for_another_config(why or "this machine's config sends it otherwise", name, target)
        left.append(PlannedDelivery(name, target, readers, DeliveryState.FAILED, LeftForAnotherConfig(reason)))
    return left


def _each_once(deliveries: list[Delivery]) -> list[Delivery]:
    """A post in doubt under a table renamed since is found both ways: named once, with the first why (in doubt:
    it says how to settle it too)."""
    first: dict[int, Delivery] = {}
    for delivery in deliveries:
        first.setdefault(delivery.id, delivery)
    return list(first.values())


def _where_posted_since(config: Config, store: Store, withdrawal: Update,
                        planned: list[PlannedDelivery]) -> list[PlannedDelivery]:
    """The plan was read before the withdrawal was stored; a command racing it may have claimed a delivery
    there since (none can now: ``Store.claim``). Where one did, the withdrawal's skipped delivery is made
    pending, to wait for that post and delete it."""
    shown = _posted(store.deliveries(incident_id=withdrawal.incident_id), _repeating_alike(destinations(config, store)))
    reopened = []
    for delivery in store.deliveries(incident_id=withdrawal.incident_id, sequence=withdrawal.sequence):
        if (delivery.state == DeliveryState.SKIPPED and delivery.last_error == NOTHING_POSTED
                and (delivery.destination, delivery.target) in shown):
            store.release(delivery.id, "")
            reopened.append((delivery.destination, delivery.target))
    return [replace(p, state=DeliveryState.PENDING, reason="") if (p.destination, p.target) in reopened else p
            for p in planned]


def _posted(deliveries: Sequence[Delivery], alike: Collection[str] = ()) -> set[tuple[str, str]]:
    """The places where something of the incident was posted, or may have been. ``alike``: the destinations whose
    repeat is harmless (``Destination.repeats_alike``), where a failed or pending delivery may have arrived too."""
    # A post being sent right now may arrive: the withdrawal waits for it there, to delete it or name it in doubt.
    maybe = (DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.SENDING)
    return {(d.destination, d.target) for d in deliveries
            if d.state in maybe or d.parts or (d.destination in alike and _may_have_arrived(d))}


def _may_have_arrived(delivery: Delivery) -> bool:
    """Whether a failed or pending delivery to a destination whose repeat is harmless may have arrived all the same.
    Such a destination never reports a request on the wire, so one with no answer (a timeout, the deadline) is
    recorded failed and one stopped before its answer pending, though its event may have arrived
    (``advice.cut_before_sending``, ``advice.stopped_before_sending``): skipped as "nothing posted", the receiver
    kept the incident and was never sent the withdrawal (review 36b). The engine counts each attempt before its
    request can leave (``Engine._attempt``), so one with no attempt sent nothing: not yet tried, held back behind
    an earlier update, refused by the egress guard. The store keeps no attempt's answer, so one every answer of
    which proved nothing arrived (a 503) counts too: the withdrawal's event is then one for an incident the
    receiver may not have, which its public text is fit for."""
    return delivery.state in (DeliveryState.FAILED, DeliveryState.PENDING) and delivery.attempts > 0


def _repeating_alike(found: Mapping[str, Destination]) -> set[str]:
    return {name for name, destination in found.items() if destination.repeats_alike}


LEFT_UP = ("posted here as {where} ({remote}), and not deleted: {why}. Delete it by hand if it is still there; the "
           "incident is withdrawn everywhere else")


def left_up(config: Config, store: Store, withdrawal: Update, planned: list[PlannedDelivery]) -> list[Delivery]:
    """Posts of the incident outside the company the withdrawal cannot reach: recorded under a table or chat the
    config no longer names that way (renamed, written by id; not a group's posts in the supergroup it became, which
    chat_ids names now: deleted there, ``engine.moved_here``), or marked sent with no id. Each is
    named, with what to do (exit 3): "withdrawn" must never hide a post still up."""
    all_destinations = destinations(config, store)
    acting = {(p.destination, p.target) for p in planned
              if p.state == DeliveryState.PENDING or isinstance(p.reason, LeftForAnotherConfig)}
    found = []
    for delivery in store.deliveries(incident_id=withdrawal.incident_id):
        destination = all_destinations.get(delivery.destination)
        if (delivery.sequence >= withdrawal.sequence or not Visibility.parse(delivery.visibility).outside
                or (destination is not None and destination.idempotent)
                or not (delivery.state == DeliveryState.SENT or delivery.parts)):
            continue
        place = (delivery.destination, delivery.target)
        if place not in acting and _moved_into(delivery, destination, acting):
            continue  # deleted at the chat its posts are in (``engine.moved_here``)
        where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
        remote = ", ".join(delivery.parts) or delivery.remote_id or "no id recorded"
        unreachable = _why_not_in_a_subscribed_chat(store, delivery, destination) if place not in acting else ""
        if unreachable:
            found.append(replace(delivery, last_error=LEFT_IN_A_SUBSCRIBED_CHAT.format(
                where=where, remote=remote, why=unreachable)))
            continue
        if place not in acting:
            why = ("the config has no such destination and chat now (a table renamed, a chat written another way or "
                   "moved), or its readers changed since")
        elif not delivery.remote_id and not delivery.parts and destination is not None and destination.can_delete:
            why = "it was recorded sent without its id (`retry --mark-unknown-sent` without --remote-id)"
        else:
            continue
        found.append(replace(delivery, last_error=LEFT_UP.format(where=where, remote=remote, why=why)))
    return found


def _moved_into(delivery: Delivery, destination: Destination | None, acting: Collection[tuple[str, str]]) -> bool:
    """Whether the withdrawal deletes ``delivery``'s posts at another target it acts at, the chat they are in."""
    return destination is not None and any(
        name == delivery.destination and delivery in moved_here([delivery], destination, name, target)
        for name, target in acting)


LEFT_IN_A_SUBSCRIBED_CHAT = ("posted here as {where} ({remote}), and not deleted: {why}. Nobody but the bot can "
                             "reach a subscriber's chat; the incident is withdrawn everywhere else")


def _why_not_in_a_subscribed_chat(store: Store, delivery: Delivery, destination: Destination | None) -> str:
    """Why the withdrawal does not delete the bot's post in a subscribed chat, or "" (not a subscribed chat, or
    one for ``LEFT_UP``): ``_chats_no_longer_sent_to`` plans the chats the bot can still reach."""
    if not is_subscribers(delivery.destination):
        return ""
    subscription = store.subscription(delivery.target)
    if subscription is not None and not subscription.active:
        return f"the chat blocked the bot or is gone ({subscription.inactive_reason}), so it cannot be deleted"
    if subscription is None and store.removed_at(delivery.target) is None:
        return ("the chat is no longer subscribed under this id (a group that became a supergroup keeps its old "
                "posts where the bot cannot delete them)")
    if destination is None:
        # Not "put it back and retry": no delete is recorded for a destination the config lacks (review 28a).
        return ("the config no longer defines these readers (an audience renamed or removed), so the withdrawal "
                "recorded no delete there: ask the chat to delete it")
    return ""


def settle_earlier(config: Config, store: Store, withdrawal: Update, planned: list[PlannedDelivery]) -> list[Delivery]:
    """Stop every delivery of the updates before ``withdrawal`` not yet done; return the posts left in doubt.
    Safe to repeat: a post already in doubt is found again, and kept so."""
    unknown = [d for d in store.skip_open_deliveries(withdrawal.incident_id, withdrawal.sequence, "withdrawn")
               if d.state == DeliveryState.UNKNOWN]
    return keep_in_doubt(config, store, unknown, planned)


def _at_unnamed_targets(found: Mapping[str, Destination], store: Store, incident: Incident) -> list[Delivery]:
    """The incident's deliveries at a target their destination no longer names, where ``moved_here`` looks: few or
    none (read once, not per chat: a broadcast has a thousand)."""
    return [d for d in store.deliveries(incident_id=incident.id)
            if d.target and d.destination in found and not names_target(found[d.destination], d.target)]


def deleting_preview(found: Mapping[str, Destination], store: Store, incident: Incident, preview: Preview,
                     sequence: int, earlier: Sequence[Delivery] = ()) -> Preview:
    """A dry run tells the truth where the withdrawal deletes: the posts it deletes, not a follow-up never sent, nor
    one the channel will refuse to delete (another account's, another instance's: ``left_up``, named with what to do);
    and the site and its hosts are rebuilt without the incident, not shown a notice."""
    if preview.state != DeliveryState.PENDING:  # one left for another member's config, too: not in this one
        return preview
    destination = found[preview.destination]
    # Neither sends the withdrawal's text, so the guard has nothing there to refuse: a customer's incident titled
    # with its name ("Globex DB down") was refused for the public site it is taken off (review 28c).
    if destination.idempotent:
        return replace(preview, rendered=None, deletes=(), reason=REBUILT, refused="")
    if not destination.can_delete or not Visibility.parse(preview.visibility).outside:
        return preview
    moved = moved_here([d for d in earlier if d.sequence < sequence], destination, preview.destination, preview.target)
    posts, kept = withdrawn_posts(store, incident.id, preview.destination, preview.target, sequence, moved)
    why_not = {remote_id: destination.not_deletable_here(remote_id, preview.target) for remote_id in posts}
    # One only a login can tell of is asked about: listed as deleted, and said it may be left up.
    deletes = tuple(r for r in posts if not why_not[r] or isinstance(why_not[r], NotKnownBeforeLogin))
    unsure = [f"may be left up: {why}" for why in why_not.values() if isinstance(why, NotKnownBeforeLogin)]
    refused = tuple((r, why_not[r]) for r in posts if r not in deletes)
    left = [NOT_DELETED_HERE.format(count=len(refused))] if refused else []
    return replace(preview, rendered=None, deletes=deletes, refused="", left_up=refused,
                   reason="; ".join([*kept, *unsure, *left, *destination.left_after_delete(deletes)]))


NOT_DELETED_HERE = ("{count} post(s) here left up: this table's credentials cannot delete them (see \"Left up\"), "
                    "and the withdrawal fails here (exit 3)")
# Ends without a stop, as every stored reason: the output ends the line with one (a channel's why ends in its own).
NOT_DELETED = ("posted here as {where} ({remote}), and the withdrawal will not delete it (it fails here, exit 3): "
               "{why} {settle}")


def not_deleted(store: Store, incident: Incident, shown: Sequence[Preview], sequence: int) -> list[Delivery]:
    """The deliveries of the posts a dry run's previews say the channel will refuse to delete (``left_up``), each
    with why and what to do: the real run's delete there fails on them, naming them as this does."""
    found = []
    for preview in shown:
        why = dict(preview.left_up)
        named: set[str] = set()  # a correction edited in place records its post's id again
        for delivery in store.thread_history(incident.id, preview.destination, preview.target, sequence):
            mine = [r for r in dict.fromkeys([*delivery.parts, delivery.remote_id]) if r in why and r not in named]
            if not mine:
                continue
            named.update(mine)
            where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
            settle = advice.delete_by_hand_then_mark(delivery.incident_id, delivery.destination, delivery.target)
            settle = settle.removesuffix(".")  # the line it is printed on ends with its own
            found.append(replace(delivery, last_error=NOT_DELETED.format(
                where=where, remote=", ".join(mine), why=" ".join(dict.fromkeys(why[r] for r in mine)), settle=settle)))
    return found


def keep_in_doubt(
    config: Config, store: Store, unknown: list[Delivery], planned: list[PlannedDelivery]
) -> list[Delivery]:
    """Posts of unknown fate where the withdrawal deletes stay ``unknown`` (never resent: the incident is
    withdrawn), with what to do by hand, until ``retry --mark-unknown-sent`` settles them. Elsewhere the
    withdrawal's follow-up or note covers them, and they are done."""
    noting = _noting(config, planned)
    kept = []
    for delivery in unknown:
        if (delivery.destination, delivery.target) in noting:  # only where a follow-up or note goes: else in doubt
            store.mark_skipped(delivery.id, COVERED)
            continue
        store.mark_unknown(delivery.id, _in_doubt_why(delivery))
        kept.append(store.delivery(delivery.id))
    return kept


def in_doubt_foreseen(config: Config, store: Store, withdrawal: Update, planned: list[PlannedDelivery]) -> list[Delivery]:
    """The posts of unknown fate ``keep_in_doubt`` would keep, each with its why; nothing is written (a dry run)."""
    noting = _noting(config, planned)
    return [replace(d, last_error=_in_doubt_why(d))
            for d in store.deliveries(incident_id=withdrawal.incident_id, states=(DeliveryState.UNKNOWN,))
            if d.sequence < withdrawal.sequence and (d.destination, d.target) not in noting]


def _noting(config: Config, planned: list[PlannedDelivery]) -> set[tuple[str, str]]:
    """Where the withdrawal sends a follow-up or a note (it deletes nothing there), which covers a post in doubt."""
    all_destinations = destinations(config)
    deleting = {(p.destination, p.target) for p in planned if p.state == DeliveryState.PENDING
                and Visibility.parse(p.visibility).outside and all_destinations[p.destination].can_delete}
    return {(p.destination, p.target) for p in planned if p.state == DeliveryState.PENDING} - deleting


def _in_doubt_why(delivery: Delivery) -> str:
    where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
    return IN_DOUBT.format(where=where, incident=delivery.incident_id)


def withdrawal_plan(config: Config, store: Store, incident: Incident) -> list[PlannedDelivery]:
    """Every destination that showed the incident: the site and hosts always, channels where something was posted."""
    earlier = store.deliveries(incident_id=incident.id)
    found = destinations(config, store)
    posted, readers = _posted(earlier, _repeating_alike(found)), _posted_for(earlier)
    spelled = StoredSpellings(found, earlier)
    planned = []
    for name, destination in found.items():
        # Each place as the earlier deliveries spell it; where the withdrawal deletes, every other spelling it was
        # posted under too (a note, which is text, goes once).
        deletes = destination.can_delete and Visibility.parse(destination.visibility).outside
        targets = tuple(spelling for target in destination.targets() for spelling in spelled.each(name, target)
                        if spelling == spelled(name, target) or (deletes and (name, spelling) in posted))
        if isinstance(destination, SubscriberDestination) and Visibility.parse(destination.visibility).outside:
            # Outside readers' posts are deleted, which sends nothing; staff's chats get a note, which is text, so a
            # staff chat that stopped or was removed is not added.
            targets = (*targets, *_chats_no_longer_sent_to(store, name, targets, posted))
        named = set(targets)  # a set: a thousand subscribed chats
        elsewhere = [d for d in earlier if d.destination == name and d.target not in named and (name, d.target) in posted]
        for target in targets:
            shown = (destination.idempotent or (name, target) in posted
                     or bool(elsewhere and moved_here(elsewhere, destination, name, target)))
            state = DeliveryState.PENDING if shown else DeliveryState.SKIPPED
            reason = "" if shown else NOTHING_POSTED
            before = readers.get((name, target), set()) - {str(Visibility.parse(destination.visibility))}
            if shown and not destination.idempotent and before:
                # Its posts went to other readers than the table names now (public then, internal now): neither a
                # delete decided by today's readers nor a note with the reason fits; left_up names the posts.
                state, reason = DeliveryState.SKIPPED, CHANGED_READERS.format(then=", ".join(sorted(before)))
            planned.append(PlannedDelivery(name, target, destination.visibility, state, reason))
    return planned


def _chats_no_longer_sent_to(store: Store, name: str, targets: Sequence[str], posted: set[tuple[str, str]]) -> list[str]:
    """The chats holding the bot's posts of the incident under ``name`` that it no longer sends to there: stopped
    (/stop), removed (``subscribers remove``) or moved to other readers (another invite, a table). Deleting sends
    no text, and only the bot can reach into a stranger's chat. A chat that blocked the bot or is gone is not
    among them (nothing reaches it: ``left_up`` says so), nor one with no subscription and no removal under
    that id (a group that became a supergroup: Telegram keeps the old group's posts out of reach)."""
    now = set(targets)
    found = []
    for where, chat in sorted(posted):
        if where != name or chat in now:
            continue
        subscription = store.subscription(chat)
        if subscription is None and store.removed_at(chat) is None:
            continue
        if subscription is not None and not subscription.active and subscription.inactive_reason != STOPPED:
            continue
        found.append(chat)
    return found


STOPPED = "stopped"  # ``subscribers.unsubscribe``'s reason: the chat's own /stop, the bot still in it
NOTHING_POSTED = "nothing of this incident was posted here"
CHANGED_READERS = "its readers changed since the incident was posted here ({then} then): nothing is sent here"


def readers_changed(reason: str) -> bool:
    """Whether a skipped delivery's ``reason`` is ``CHANGED_READERS``: posts are left there, which the operator
    must be shown before confirming (a skip for nothing posted is not worth a line)."""
    head = CHANGED_READERS.partition("{")[0]
    return reason.startswith(head)


def _posted_for(deliveries: Sequence[Delivery]) -> dict[tuple[str, str], set[str]]:
    """Each place's readers (visibility) as each post of the incident there was made for."""
    found: dict[tuple[str, str], set[str]] = {}
    for d in deliveries:
        if d.state != DeliveryState.SKIPPED:
            found.setdefault((d.destination, d.target), set()).add(str(Visibility.parse(d.visibility)))
    return found
