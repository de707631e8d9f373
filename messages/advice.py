"""What the operator is told when a delivery did not simply go out, and exactly what to run next.

Every sentence here ends in an action: a command to run, a setting to check.
The engine decides which applies; the wording lives here so that it reads as
one voice and can be changed in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from broadcaster.delivery import NOT_OUT_READ_THE_SAME, DeliveryState
from broadcaster.errors import MAX_SHOWN


def deadline_phrase(deadline: float) -> str:
    return f"the command's deadline of {deadline:g}s ([engine] deadline)"


def held_back(sequence: int, state: str, incident_id: str, *, carried: bool = False) -> str:
    """Why a later update waits for update ``sequence`` (now in ``state``), and what sends it. ``carried``: the one
    waiting is a correction of it, of which nothing went out here, so ``retry`` sends it with the correction's text
    and the correction is then not sent (``Engine._skip_corrections_carried``)."""
    earlier = f"update #{sequence} of this incident"
    if state == DeliveryState.UNKNOWN and carried:
        # Resent by --include-unknown, it goes with this correction's text (``as_last_corrected``), which then is not
        # sent: "either sends this one after it" was true of --mark-unknown-sent only.
        return (
            f"held back: {earlier} may or may not have arrived here (unknown), and updates must arrive in "
            f"order. Check whether it is there, then run `broadcaster retry {incident_id} "
            "--mark-unknown-sent` (it is), which sends this correction after it; or `broadcaster retry "
            f"{incident_id} --include-unknown` (it is not), which sends it with this correction's text, and this "
            "correction is then not sent here. If it is there, never use --include-unknown: its text and the "
            "corrected one would both stay up, with no correction under the first."
        )
    if state == DeliveryState.UNKNOWN:
        return (
            f"held back: {earlier} may or may not have arrived here (unknown), and updates must arrive in "
            f"order. Check whether it is there, then run `broadcaster retry {incident_id} "
            f"--mark-unknown-sent` (it is) or `broadcaster retry {incident_id} --include-unknown` "
            "(it is not): either sends this one after it."
        )
    if carried:
        return (
            f"held back: {earlier} is {state} here, and updates must arrive in order. "
            f"`broadcaster retry {incident_id}` sends it with this correction's text, and this correction is then "
            "not sent here: its readers never read the text corrected."
        )
    return (
        f"held back: {earlier} is {state} here, and updates must arrive in order. "
        f"`broadcaster retry {incident_id}` sends both, in order."
    )


def not_ours(where: str, remote_id: str, origin: str) -> str:
    """A withdrawal left a post alone: its id came from an operator or an import, not from broadcaster's own send."""
    came = "was recorded by hand (--remote-id)" if origin == "operator" else "came from a store import"
    return (
        f"not deleted: the post {remote_id} at {where} {came}, and withdraw deletes only posts broadcaster wrote "
        "itself (an id given by hand may name someone else's post). Check it, and delete it by hand if it is yours."
    )


def unnameable(where: str, remote_id: str) -> str:
    """A withdrawal left a post alone: its id is stored with an escape or cut (``names_no_post``)."""
    return (
        f"not deleted: the post {remote_id} at {where} is still up. Its id is stored with an escape in place of a "
        "character the service put in it (a control character, a line break or a lone surrogate; an invisible one "
        "by a version of 2026-12-07) or cut, and names no post, so broadcaster cannot name it to delete it. Delete "
        "it by hand."
    )


def delete_by_hand_then_mark(incident_id: str, destination: str, target: str = "") -> str:
    """What settles a withdrawal's delete that this table's credentials can never do (another account's or
    instance's posts, ``Channel.not_deletable_here``): once they are deleted by hand, ``retry --mark-deleted``
    records it; a plain ``retry`` fails there for ever."""
    place = f"{destination}:{target}" if target else destination
    return (f"Once deleted by hand, `broadcaster retry {incident_id} --mark-deleted {place}` records this withdrawal "
            "done here (a plain `broadcaster retry` fails here again, exit 3).")


def waited_too_long(deadline: float) -> str:
    return (
        f"timed out waiting for an earlier update of this incident to be sent here "
        f"(deadline {deadline:g}s). Run `broadcaster retry`."
    )


def unknown(where: str, incident_id: str, confirmed: int, total: int) -> str:
    """What to do about a post that may or may not exist; ``confirmed`` of ``total`` parts are known sent."""
    if confirmed and total > confirmed + 1:
        doubt, rest = confirmed + 1, f"{confirmed + 2}-{total}" if total > confirmed + 2 else str(total)
        return (
            f"It was not sent again, since that could post it twice. Parts 1-{confirmed} of {total} were confirmed; "
            f"part {doubt} is the one in doubt, and no later part was sent. Check {where}: if part {doubt} is not "
            f"there, run `broadcaster retry {incident_id} --include-unknown` (it sends from part {doubt} on); if it "
            f"is, the same sends the rest with part {doubt} a second time, which is still better than "
            f"`--mark-unknown-sent`: that settles the whole post, and part {rest} would never be sent."
        )
    resume = f" Parts 1-{confirmed} of {total} were confirmed; part {total} is the one in doubt." if confirmed else ""
    return (
        f"It was not sent again, since that could post it twice.{resume} Check {where}: if the post "
        f"is there, run `broadcaster retry {incident_id} --mark-unknown-sent`; if not, "
        f"`broadcaster retry {incident_id} --include-unknown`."
    )


def gave_up(error: str, attempts: int, max_attempts: int, deadline: float) -> str:
    """``attempts``: every attempt of the delivery, in this command and earlier ones (retries), which alone read as
    more than ``max_attempts`` allows (review 35c: "Gave up after 12 attempts ([engine] max_attempts 6)")."""
    limits = f"[engine] max_attempts {max_attempts}, deadline {deadline:g}s"
    if attempts > max_attempts:
        limits = f"in all, over more than one command: {limits}, in each"
    return f"{error} Gave up after {attempts} attempt{'s' if attempts != 1 else ''} ({limits}); `broadcaster retry` sends it again."


def cut_while_out(deadline: float) -> str:
    return (
        f"{deadline_phrase(deadline)} came while a request was out, without an answer, so it may or may not "
        "have been posted."
    )


def cut_harmless(deadline: float) -> str:
    return f"timed out: no success within {deadline_phrase(deadline)}. `broadcaster retry` publishes it again (harmless)."


def cut_left(deadline: float, left: str) -> str:
    """A cut send whose destination says what it left to settle (``left``: which, and what to do)."""
    return f"timed out: no success within {deadline_phrase(deadline)}, so it was stopped. {left}"


def cut_interrupted(deadline: float) -> str:
    """A cut send whose stop was still under way when the command was interrupted: what it left is not known yet."""
    return (
        f"timed out: no success within {deadline_phrase(deadline)}, so it was stopped, and the command was "
        "interrupted before the stopped upload ended: what it left there is not known. Run `broadcaster retry`: "
        "the next publish from this machine settles it. An S3 bucket may hold pages that no manifest names "
        "(`broadcaster channels check` names those this machine recorded); if you publish to it from another "
        "machine instead and one is a withdrawn incident's page, delete it from the bucket by hand."
    )


def cut_before_sending(deadline: float, repeats_alike: str = "") -> str:
    """A send cut with no request out, or one whose every repeat the receiver drops (``repeats_alike``: why)."""
    if repeats_alike:
        return (
            f"timed out: no success within {deadline_phrase(deadline)}. Its request may have arrived, but "
            f"{repeats_alike}: run `broadcaster retry` when the destination is back."
        )
    return (
        f"timed out: no success within {deadline_phrase(deadline)}, and no request was out. "
        "Run `broadcaster retry` when the destination is back."
    )


def stopped_before_sending(repeats_alike: str = "") -> str:
    """A send stopped with no request out, or one whose every repeat the receiver drops (``repeats_alike``: why)."""
    if repeats_alike:
        return (
            "the command was stopped (Ctrl-C or SIGTERM) before an answer came. Its request may have arrived, but "
            f"{repeats_alike}: `broadcaster retry` sends it."
        )
    return "the command was stopped (Ctrl-C or SIGTERM) before this was sent. `broadcaster retry` sends it."


def left_out(problems: Sequence[str]) -> str:
    """The incidents a site build left out (each names its id and why), and what to do: as many of them as a
    delivery's error holds whole (``errors.MAX_SHOWN``), then how many more, which `site build` names. Cut in its
    middle, the list lost most of them without a word (of 14 incidents, 10), and `show` has only what is stored."""
    end = ". The rest of the site was built and published. See `broadcaster show ID` for the record; run " \
          "`broadcaster retry` once it is fixed."
    told = "; ".join(problems)
    if len(told) + len(end) <= MAX_SHOWN:
        return told + end
    shown: list[str] = []
    for problem in problems:
        if len("; ".join([*shown, problem])) + len(end) + _LEFT_OUT_MORE_ROOM > MAX_SHOWN:
            break
        shown.append(problem)
    more = len(problems) - len(shown)
    where = "`broadcaster site build` names each and why"
    if not shown:
        return f"{more} incident(s) were left out of the site: {where}" + end
    return "; ".join(shown) + f"; and {more} more incident(s) were left out of the site: {where}" + end


# What "and N more ... were left out" takes, with the escapes an incident's reason may grow by where shown.
_LEFT_OUT_MORE_ROOM = 200


def no_longer_in_config(name: str) -> str:
    return f"{name!r} is no longer in the config, so this was not sent there."


LEFT_FOR_ANOTHER_CONFIG = "not sent, left as it is: "


# What a delivery the service refused for good is recorded with (``DeliveryError.refused_if_first``, X's "duplicate
# content" from another post): nothing of it was sent, and the next update at its place goes in its stead.
REFUSED_FOR_GOOD = "refused for good, nothing was sent: "


def refused_for_good(reason: str) -> str:
    return REFUSED_FOR_GOOD + reason


def refused_skipped(sequence: int, reason: str) -> str:
    """The reason a delivery refused for good is skipped by the next update at its place (``sequence``)."""
    return f"not sent: update #{sequence} went out here in its place ({reason.removeprefix(REFUSED_FOR_GOOD)})"


def left_for_another_config(where: str, destination: str, target: str = "") -> str:
    """A delivery this machine's ``retry`` leaves for another member of the team (``retrying._left_for_another_config``);
    ``--skip-removed`` names its chat too where it has one (a bot's destination holds thousands)."""
    place = f"{destination}:{target}" if target else destination
    return (f"{LEFT_FOR_ANOTHER_CONFIG}{where} (team mode: another member's config may have it). "
            "`broadcaster retry` on a machine whose config has it sends it; if it was taken out of the team's "
            f"config for good, `broadcaster retry --skip-removed {place}` skips it.")


def visibility_changed(name: str, now: str, stored: str) -> str:
    return (
        f"{name} is {now} now but this update was stored for {stored} "
        "readers, so it was not sent there. Post it again if it should go there."
    )


def target_removed(target: str, name: str) -> str:
    return f"{target} is no longer a target of {name} in the config, so this was not sent there."


def subscription_ended(chat: str, reason: str) -> str:
    return (
        f"Telegram chat {chat} is gone or refuses the bot ({reason.rstrip('.')}): its subscription is now inactive "
        "and nothing more is sent there until the chat subscribes again (/start). Nothing to do; "
        f"`broadcaster subscribers remove {chat}` forgets it."
    )


def subscription_moved(chat: str, moved_to: str) -> str:
    return f"chat {chat} became {moved_to} (a supergroup); the subscription now follows {moved_to}"


def subscription_moved_to_its_own(chat: str, moved_to: str, *, stopped: bool = False, parts: int = 0) -> str:
    how = "stopped its updates (/stop)" if stopped else "hears these updates otherwise (its own subscription or a table)"
    sent = (f"its first {parts} part(s) reached {chat} before it moved; the rest was not sent to {moved_to}" if parts
            else f"nothing was sent there from {chat}'s subscription")
    return (f"chat {chat} became {moved_to} (a supergroup), which {how}: {sent}, and the subscription ends (it would "
            f"post twice); if {moved_to} should hear this chat's updates, send it an invite")


def subscription_moved_to_a_narrower_one(chat: str, moved_to: str, *, other_readers: bool = False) -> str:
    what = ("another readers' chat (its own subscription or a table of other readers): these readers' detail is "
            "never sent there" if other_readers else "a chat that hears only some components (its own subscription "
            "or a table): it may not have heard this update")
    return (f"chat {chat} became {moved_to} (a supergroup), {what}. Nothing was sent there from {chat}'s "
            f"subscription, which ends. If {moved_to} should hear these updates, send it an invite for them")


def table_chat_moved_elsewhere(table: str, chat: str, moved_to: str, parts: int) -> str:
    sent = f"its first {parts} part(s) reached {chat} before it moved; the rest was not" if parts else "nothing was"
    return (f"chat {chat} of [channels.{table}] became {moved_to} (a supergroup), which another table or a subscribed "
            f"chat already hears: {sent} sent there from this table (its readers' cut, or the update twice). If "
            f"{moved_to} is this table's now, put it in chat_ids in place of {chat}, then `broadcaster retry`")


def subscription_moved_unsure(chat: str, moved_to: str) -> str:
    return (f"chat {chat} became {moved_to} (a supergroup); a table names a chat by an @name not yet resolved, which "
            f"may be {moved_to}, so nothing was sent there. The subscription follows {moved_to}: `broadcaster retry` "
            "asks which chat each name is, then sends it (or leaves it to the table that names it)")


def bot_answers(bot: str) -> str:
    return f"bot @{bot} answers; each subscribed chat is checked when it is sent to (`broadcaster subscribers list`)"


def claim_not_stored(incident_id: str, cause: str) -> str:
    """The store could not take a delivery's claim, so nothing of it was sent."""
    return (
        f"not sent: the store could not be written ({cause}), and broadcaster sends nothing it has not recorded "
        f"first. Once the store works again, run "
        f"`broadcaster retry {incident_id}`."
    )


def result_not_stored(
    incident_id: str, destination: str, target: str, state: str, remote_id: str | None, cause: str,
    *, parts: Sequence[str] = (),
) -> str:
    """A delivery's end the store could not record: what really happened, and what to record once it works.
    The store shows it unknown from the next command on: it must never read as "try again"."""
    where = destination + (f":{target}" if target else "")
    stored = f"but the store could not record it ({cause}), so from the next command on it shows as unknown."
    if parts and state != DeliveryState.SENT:
        return (
            f"PARTLY POSTED at {where}: {len(parts)} part(s) went out (ids {', '.join(parts)}), the rest did not, "
            f"{stored} Do not resend it whole: once the store works again, `broadcaster retry {incident_id} "
            f"--mark-unknown-sent --remote-id {where}={parts[0]}` records it as posted (post the missing rest by "
            "hand if it matters)."
        )
    if state == DeliveryState.SENT and len(parts) > 1:
        stored += f" Its {len(parts)} parts are {', '.join(parts)}."
    if state == DeliveryState.SENT and remote_id:
        return (
            f"POSTED at {where} (id {remote_id}), {stored} Do not post it again. Once the store works again, run "
            f"`broadcaster retry {incident_id} --mark-unknown-sent --remote-id {where}={remote_id}`."
        )
    if state == DeliveryState.SENT:
        return (
            f"done at {where}, {stored} Do not post it again. Once the store works again, run "
            f"`broadcaster retry {incident_id} --mark-unknown-sent`."
        )
    if state == DeliveryState.UNKNOWN:
        return (
            f"its fate at {where} is unknown, {stored} Check {where} once the store works again: if the post is "
            f"there, run `broadcaster retry {incident_id} --mark-unknown-sent`; if not, "
            f"`broadcaster retry {incident_id} --include-unknown`."
        )
    if state == DeliveryState.SKIPPED:
        return f"skipped at {where}: nothing was sent there, {stored} `broadcaster retry {incident_id} --include-unknown` skips it again."
    return (
        f"{state} at {where}: nothing was sent there, {stored} Once the store works again, run "
        f"`broadcaster retry {incident_id} --include-unknown` to send it."
    )




def not_sent_yet(incident_id: str, what: str, waiting: Sequence[str], unknown: Sequence[str],
                 sending: Sequence[str], *, plural: bool = False) -> str:
    """Where ``what`` (an earlier post of the incident; ``plural``: several) has not reached its readers, each place
    named with its state, and what sends it: said when a repeat, or a closing step taken again, is refused (the
    up-arrow after an exit 3), since the operator's next thought is to post it once more, to every reader who
    already has it. "" when it reached them all."""
    is_, it = ("are", "them") if plural else ("is", "it")
    parts = []
    if waiting:
        parts.append(f"{what} {is_} not sent to {', '.join(waiting)}: `broadcaster retry {incident_id}` sends {it} "
                     "there, never twice what was sent")
    if unknown:
        parts.append(f"{what} may or may not have reached {', '.join(unknown)}: check, then `broadcaster retry "
                     f"{incident_id} --mark-unknown-sent` (it is there) or `--include-unknown` (it is not)")
    if sending:
        parts.append(f"{what} {is_} being sent to {', '.join(sending)} by another command right now")
    return "; ".join(parts)


def postmortem_not_out(sequence: int, state: str, incident_id: str) -> str:
    """Why a postmortem's version is skipped where version #``sequence``, which its readers would read the same, has
    not gone out yet (``state``): "read nothing changed", exit 0, said those readers had it while they were never
    told of it (or still read the version before)."""
    return _not_out(f"postmortem #{sequence}", state, incident_id, "its readers are still owed it")


def correction_not_out(sequence: int, state: str, incident_id: str) -> str:
    """Why a correction is skipped where correction #``sequence``, which its readers would read the same, has not
    gone out yet (``state``): it is what they are still owed, and what sends it."""
    return _not_out(f"correction #{sequence}", state, incident_id, "its readers still read the text corrected away")


def _not_out(what: str, state: str, incident_id: str, owed: str) -> str:
    if state == DeliveryState.UNKNOWN:
        return (f"{what}{NOT_OUT_READ_THE_SAME}may or may not have arrived (unknown): check, then "
                f"`broadcaster retry {incident_id} --mark-unknown-sent` (it is there) or `--include-unknown` (it is "
                "not)")
    how = "being sent by another command" if state == DeliveryState.SENDING else state
    return f"{what}{NOT_OUT_READ_THE_SAME}has not gone out ({how}): {owed}. `broadcaster retry {incident_id}` sends it"
