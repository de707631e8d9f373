"""What the subscriber bot says in a chat: its replies and its ``/status`` answer, as Telegram HTML.

Every word is the product's own, from the catalogue (``i18n``), in the language
of ``[page] language``; what an operator wrote (titles, messages, component
names) comes only through the views. ``/status`` is laid out like the Telegram
channel's messages (``messages.telegram``) from views cut to the chat's
visibility: a formatter here cannot print what the view does not hold.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from broadcaster.messages import i18n
from broadcaster.messages import telegram as formatter
from broadcaster.messages.model import ComponentStatus
from broadcaster.messages.telegram import Block, Run
from broadcaster.messages.visibility import UpdateView


def _text(message: str, **values: str) -> str:
    """A catalogue message as Telegram HTML, its values escaped (a page title may hold ``<``)."""
    return html.escape(message, quote=False) % {k: html.escape(v, quote=False) for k, v in values.items()}


def help_text(page: str) -> str:
    return _text(i18n.gettext(
        "This bot sends the status updates of %(page)s.\n\n"
        "/start – subscribe this chat\n"
        "/components – choose the components you hear about\n"
        "/status – what is going on now\n"
        "/stop – unsubscribe\n"
        "/help – this message"), page=page)


def short_help() -> str:
    return _text(i18n.gettext("I only understand commands. /help lists them."))


def subscribed_public(page: str) -> str:
    return _text(i18n.gettext(
        "Subscribed: this chat gets the public status updates of %(page)s. /components chooses which "
        "components, /stop unsubscribes."), page=page)


def subscribed_audience(page: str, audience: str) -> str:
    return _text(i18n.gettext(
        "Subscribed: this chat gets the status updates of %(page)s for %(audience)s. /components chooses "
        "which components, /stop unsubscribes."), page=page, audience=audience)


def subscribed_internal(page: str) -> str:
    return _text(i18n.gettext(
        "Subscribed: this chat gets the internal status updates of %(page)s, with private detail. "
        "/components chooses which components, /stop unsubscribes."), page=page)


def already_subscribed() -> str:
    return _text(i18n.gettext(
        "This chat is already subscribed, and stays as it is. Only an invite link from the status page's "
        "team changes what it receives."))


def set_up_by_the_team() -> str:
    """An invite opened in a chat the config sends to: what it hears is set there, not by invites."""
    return _text(i18n.gettext(
        "This chat gets the status updates the status page's team set up for it, and an invite link changes "
        "nothing here: this one was not used. Ask the team if this chat should get other updates."))


def invite_refused(reason: str) -> str:
    """``reason``: "expired", "revoked", "used" or anything else (not valid)."""
    texts = {
        "expired": i18n.gettext("This invite link has expired. Ask whoever sent it for a new one."),
        "revoked": i18n.gettext("This invite link was withdrawn. Ask whoever sent it for a new one."),
        "used": i18n.gettext("This invite link has been used as often as it may be. Ask whoever sent it for "
                             "a new one."),
    }
    fallback = i18n.gettext("This invite link is not valid. Check that it was copied whole, or ask for a new one.")
    return _text(texts.get(reason, fallback))


def group_needs_invite() -> str:
    return _text(i18n.gettext(
        "A group subscribes with an invite link from the status page's team: /start followed by the invite."))


def visibility_changed() -> str:
    return _text(i18n.gettext("This invite changed which updates this chat receives."))


def not_subscribed_plain() -> str:
    return i18n.gettext("This chat is not subscribed. /start subscribes it.")  # a callback answer: plain text


def keep_one_component() -> str:
    return i18n.gettext("Keep at least one component ticked, or /stop to unsubscribe.")


def not_subscribed() -> str:
    return _text(not_subscribed_plain())


def unsubscribed() -> str:
    return _text(i18n.gettext("Unsubscribed: this chat gets no more status updates. /start subscribes it again."))


def choose_components() -> str:
    return _text(i18n.gettext(
        "Choose the components this chat hears about: tap one to switch it on or off."))


def component_saved() -> str:
    return i18n.gettext("Saved.")  # a callback answer: plain text, not HTML


def component_gone() -> str:
    return i18n.gettext("That component no longer exists. Send /components again.")


def admins_only() -> str:
    return i18n.gettext("Only the group's administrators can change this.")


def anonymous_admin() -> str:
    return _text(i18n.gettext(
        "Telegram does not say which administrator sent this. Send it again as yourself, not as the group."))


def status_unavailable(url: str) -> str:
    if url:
        return _text(i18n.gettext("The status cannot be shown here just now. See %(url)s"), url=url)
    return _text(i18n.gettext("The status cannot be shown here just now."))


def status_continues(url: str) -> str:
    if url:
        return _text(i18n.gettext("There is more than fits here: see %(url)s"), url=url)
    return _text(i18n.gettext("There is more than fits here: send /components to choose fewer components."))


# -- /status ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentLine:
    name: str
    status: ComponentStatus


def status_messages(
    open_updates: Sequence[UpdateView], upcoming: Sequence[UpdateView], components: Sequence[ComponentLine],
    limit: int = formatter.MAX_CHARS,
) -> tuple[str, ...]:
    """The ``/status`` answer: each open incident's latest update as the Telegram channel writes it,
    then the components' statuses, then upcoming maintenance; split to fit like the channel's."""
    blocks: list[Block] = []
    if not open_updates:
        blocks.append((Run("🟢 "), Run(i18n.gettext("No open incidents."), "b")))
    for view in open_updates:
        blocks += formatter.layout(view)
    if components:
        runs = [Run(i18n.gettext("Components"), "b")]
        runs += [Run(f"\n• {line.name}: {line.status.label}") for line in components]
        blocks.append(tuple(runs))
    if upcoming:
        blocks.append((Run(i18n.gettext("Upcoming maintenance"), "b"),))
        for view in upcoming:
            blocks += formatter.layout(view)
    return tuple(formatter.to_html(part) for part in formatter.split(blocks, limit))
