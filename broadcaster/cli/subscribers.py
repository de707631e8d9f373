"""``broadcaster subscribers``: invites for the bot's deep links, and the chats that subscribed.

Thin commands over ``broadcaster.subscribers``. The links name the bot by the
``[bot]`` table's ``username``; without it, ``invite`` asks Telegram (getMe,
through the same client the Telegram channel uses, ``api_url`` included)
before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from broadcaster.cli.options import common, complete_audience, load_config, once, open_store
from broadcaster.customer_ids import claim_audience_ids
from broadcaster.errors import ConfigError, DeliveryError, InputError, bounded, did_you_mean, printable

if TYPE_CHECKING:
    from broadcaster.config import BotConfig, ChannelConfig, Config
    from broadcaster.destinations import TableRooms
    from broadcaster.messages.model import Visibility
    from broadcaster.subscribers import Subscription

DEEP_LINK = "https://t.me/{bot}?{kind}={code}"


@click.group()
def subscribers() -> None:
    """Invite chats to the bot (`broadcaster bot run`), list and remove them."""


@subscribers.command("invite")
@click.option("--audience", multiple=True, callback=once, metavar="ID", shell_complete=complete_audience,
              help="The chats get this [audiences.ID] customer's updates.")
@click.option("--internal", is_flag=True, help="The chats get internal updates (staff only).")
@click.option("--components", multiple=True, callback=once, metavar="A,B", help="Only updates touching these components (default: all).")
@click.option("--expires", default="7d", show_default=True, metavar="WHEN",
              help="When the invite stops working: 30m, 12h, 7d, or a date.")
@click.option("--uses", type=click.IntRange(min=1), multiple=True, callback=once, metavar="N", help="How many chats may use it (default: any number).")
@common
@click.pass_context
def invite(ctx: click.Context, /, audience: str | None, internal: bool, components: str | None, expires: str,
           uses: int | None) -> None:
    """Make an invite and print its links: one opens a private chat with the bot, one adds it to a group.

    Without --audience or --internal the chats get public updates. The invite is
    stored hashed: its links are shown only now.
    """
    from broadcaster import subscribers as subs
    from broadcaster.times import parse_time

    config = load_config(ctx)
    bot = require_bot(config)
    visibility = invite_visibility(config, audience, internal)
    chosen = known_components(config, components)
    now = datetime.now(UTC)
    until = parse_time(expires, now=now, zone=config.page.zone, option="--expires")
    username = bot_username(config, bot)  # before storing: a link that names no bot is useless
    store = open_store(ctx, creates=True)
    if visibility.audience:  # an id reused for another customer would welcome its chats to the old one's detail
        claim_audience_ids(config, store, "No invite was made.")
    code, made = subs.create_invite(store, visibility, chosen, expires=until - now, uses=uses, now=now)
    click.echo(f"Invite {made.id}: {describe(made.visibility, made.components)}, expires "
               f"{made.expires_at:%Y-%m-%d %H:%M} UTC" + (f", {uses} use(s)" if uses else "") + ".")
    click.echo(f"  private chat: {DEEP_LINK.format(bot=username, kind='start', code=code)}")
    click.echo(f"  group:        {DEEP_LINK.format(bot=username, kind='startgroup', code=code)}")
    click.echo("The links are shown only now (the store keeps a hash). "
               f"`broadcaster subscribers revoke {made.id}` stops them.")


@subscribers.command("list")
@click.option("--audience", multiple=True, callback=once, metavar="ID", shell_complete=complete_audience,
              help="Only chats that get this [audiences.ID] customer's updates.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@common
@click.pass_context
def list_(ctx: click.Context, /, audience: str | None, as_json: bool) -> None:
    """Every subscribed chat: its visibility, components, and whether it is still active."""
    from broadcaster.cli import records
    from broadcaster.cli.plain import print_json
    from broadcaster.destinations import table_rooms
    from broadcaster.messages.model import Visibility
    from broadcaster.operations.rooms import check_shared_rooms

    config = load_config(ctx)
    scope = Visibility.of(config.require_audience(audience, "--audience", reading=True).id) if audience else None
    store = open_store(ctx, reads=True)
    found = store.subscriptions(visibility=scope)
    if found:  # the tables' @names looked up as a post does: heard_as is what the next post sends (review 28b)
        check_shared_rooms(config, store)
    rooms = table_rooms(config, store)
    maybe = [t.name for t in rooms.unresolved]  # the service did not answer: any group may be theirs
    if as_json:
        print_json(records.subscriptions_json(found, config.audiences, lambda s: heard(config, s, rooms.naming(s.chat_id)),
                                              maybe_named_by=lambda s: maybe_named_by(s, rooms, maybe),
                                              known_components=config.component_ids))
        return
    if not found:
        click.echo("No subscribed chats. Make an invite: broadcaster subscribers invite")
        return
    for s in found:
        state = "active" if s.active else f"inactive ({bounded(printable(s.inactive_reason or 'stopped', one_line=True))})"
        invite_id = s.invite[:12] if s.invite else "-"
        tables = rooms.naming(s.chat_id)  # a table naming the chat decides what it is sent, not its audience
        click.echo(f"{s.chat_id:>16}  {s.kind.value:<7}  {describe(s.visibility, s.components)}"
                   f"{named_by(tables) or gone(config, s) + stale(config, s)}  {state}  joined {s.joined_at:%Y-%m-%d}  "
                   f"invite {invite_id}")
    if any(maybe_named_by(s, rooms, maybe) for s in found):
        click.echo(f"Not known which groups {', '.join(f'[channels.{name}]' for name in maybe)} name by @name (the "
                   "service did not answer): a group listed here may hear that table's updates instead. Run this "
                   "again once the service answers.")
    orphans = [s for s in found if gone(config, s) and not rooms.naming(s.chat_id)]
    if orphans:
        click.echo(f"{len(orphans)} chat(s) joined with an invite for an audience the config no longer defines: they "
                   "are sent public updates. Send them a new invite (`broadcaster subscribers invite --audience ID`), "
                   "or `broadcaster subscribers remove CHAT`.")


# A group's id is negative (-100...): without this, click reads it as an unknown option.
@subscribers.command("remove", context_settings={"ignore_unknown_options": True})
@click.argument("chat", metavar="CHAT")
@common
@click.pass_context
def remove(ctx: click.Context, /, chat: str) -> None:
    """Forget a subscribed chat (its id from `subscribers list`); nothing more is sent there."""
    from broadcaster import subscribers as subs

    store = open_store(ctx)
    before = store.subscription(subs.check_chat_id(chat))
    if before is None or not subs.remove(store, chat):
        raise InputError(f"chat {chat} is not subscribed; see `broadcaster subscribers list`. Nothing was changed.")
    # A group's plain /start is refused (only an invite subscribes one); a private chat's makes it a public subscriber.
    again = ("It can subscribe again only with an invite (a group's /start needs one)." if before.kind == subs.ChatKind.GROUP
             else "If it sends /start again, it gets public updates.")
    click.echo(f"Removed chat {chat}: nothing more is sent there. {again}")
    invite = store.invite(before.invite) if before.invite else None
    if invite is not None and invite.refusal(datetime.now(UTC)) is None:
        # The link it joined with still opens: whoever kept it (an ex-employee) can come straight back.
        click.echo(f"It joined with invite {invite.id} ({describe(invite.visibility, invite.components)}), which "
                   f"still works: a chat opening it again is subscribed again. To stop that, run "
                   f"`broadcaster subscribers revoke {invite.id}` (send new links to the chats that should stay).")


@subscribers.command("invites")
@common
@click.pass_context
def invites(ctx: click.Context, /) -> None:
    """Every invite: what it gives, its uses, and whether it still works."""
    config = load_config(ctx)
    found = open_store(ctx, reads=True).invites()
    if not found:
        click.echo("No invites. Make one: broadcaster subscribers invite")
        return
    now = datetime.now(UTC)
    for made in found:
        expiry = f"expires {made.expires_at:%Y-%m-%d %H:%M}" if made.expires_at else "never expires"
        limit = f"/{made.max_uses}" if made.max_uses is not None else ""
        departed = made.visibility.audience and made.visibility.audience not in config.audiences
        mark = " (audience not in the config: the bot refuses it)" if departed else ""
        click.echo(f"{made.id}  {made.state(now):<8}  {describe(made.visibility, made.components)}{mark}  "
                   f"used {made.uses}{limit}  {expiry}")


@subscribers.command("revoke")
@click.argument("reference", metavar="INVITE")
@common
@click.pass_context
def revoke(ctx: click.Context, /, reference: str) -> None:
    """Stop an invite (its id from `subscribers invites`, or the code); chats that joined stay."""
    from broadcaster import subscribers as subs

    revoked = subs.revoke(open_store(ctx), reference)
    click.echo(f"Revoked invite {revoked.id}: it can no longer be used. Chats that joined with it stay "
               "subscribed; `broadcaster subscribers remove CHAT` removes one.")


# -- helpers ------------------------------------------------------------------------------


def require_bot(config: Config) -> BotConfig:
    if config.bot is None:
        raise ConfigError(
            'there is no [bot] table in the config: add one (type = "telegram", token = "${TELEGRAM_BOT_TOKEN}") '
            "to let chats subscribe themselves."
        )
    return config.bot


def invite_visibility(config: Config, audience: str | None, internal: bool) -> Visibility:
    from broadcaster.messages.model import INTERNAL, PUBLIC, Visibility

    if audience and internal:
        raise InputError("--audience and --internal: give one (a customer's updates, or internal ones).")
    if audience:
        return Visibility.of(config.require_audience(audience, "--audience", consequence="No invite was made.").id)
    return INTERNAL if internal else PUBLIC


def known_components(config: Config, text: str | None) -> list[str]:
    """``--components a,b``, each a configured component (the closest one suggested otherwise)."""
    known = [c.component.id for c in config.components]
    names = [name.strip() for name in text.split(",")] if text is not None else []
    if "" in names:  # `--components "$A,$B"` with one unset: read as fewer (or none: every component), it widened
        raise InputError(f"--components {text!r} has an empty name between its commas (an unset shell variable?): "
                         f"give component ids, e.g. {','.join(known[:2])}. Nothing was stored.")
    chosen = names
    for name in chosen:
        if name not in known:
            raise InputError(f"--components: no component {name!r}.{did_you_mean(name, known)} Components: {', '.join(known)}. "
                             "Nothing was stored.")
    return chosen


def bot_username(config: Config, bot: BotConfig) -> str:
    """``[bot] username``, else the bot's own from Telegram (getMe)."""
    if bot.username:
        return bot.username
    from broadcaster.config import SUBSCRIBERS  # here: `--help` loads this module, and needs no config

    missing = config.missing_secrets({SUBSCRIBERS})
    if missing:
        raise ConfigError(f"{'; '.join(missing)} has no value: export it, or set username in [bot]. Nothing was stored.")
    from broadcaster.registry import load_channel_class

    channel = load_channel_class(bot.table.type)(bot.table)

    async def ask() -> str:
        try:
            return await channel.username()
        finally:
            await channel.aclose()

    try:
        import asyncio  # here: every command loads this module, and a dry run needs no event loop

        name = asyncio.run(ask())
    except DeliveryError as exc:
        raise ConfigError(f"could not ask Telegram for the bot's username: {exc} Or set username in [bot]. "
                          "Nothing was stored.") from exc
    if not name:
        raise ConfigError("Telegram did not say the bot's username: set username in [bot]. Nothing was stored.")
    return name


def gone(config: Config, subscription: Subscription) -> str:
    """A mark for a chat whose audience left the config (renamed or removed), which hears public updates."""
    from broadcaster.subscribers import heard_as

    if heard_as(subscription.visibility, config.audiences) == subscription.visibility:
        return ""
    return " (audience not in the config: sent public updates)"


def stale(config: Config, subscription: Subscription) -> str:
    """A mark for a chat that chose a component the config no longer defines, which hears every update."""
    unknown = subscription.unknown_components(config.component_ids)
    return f" (not in the config: {', '.join(unknown)}; sent every update)" if unknown else ""


def heard(config: Config, subscription: Subscription, tables: Sequence[ChannelConfig]) -> Visibility:
    """The view the chat is sent: a chat channel ``tables`` name hears theirs alone, whether its own subscription
    stopped or not (``SubscriberDestination``; a config names a chat in one visibility only); any other, its
    subscription's (``subscribers.heard_as``: the public's for an audience the config no longer defines). Not
    ``/status``'s rule (``bot.status.chat_visibility``), which answers a chat as the public while a table's @name is
    unresolved: an audit reading that would miss a customer's chat that the next post sends its detail (27rx)."""
    from broadcaster.messages.model import Visibility as Readers
    from broadcaster.subscribers import heard_as

    readers = Readers.parse(tables[0].visibility) if tables else subscription.visibility
    return heard_as(readers, config.audiences)


def maybe_named_by(subscription: Subscription, rooms: TableRooms, maybe: list[str]) -> list[str]:
    """The tables whose unresolved @names may be this group's (a private chat has no @name a table could name)."""
    from broadcaster.subscribers import ChatKind

    if subscription.kind != ChatKind.GROUP or rooms.naming(subscription.chat_id):
        return []
    return maybe


def named_by(tables: Sequence[ChannelConfig]) -> str:
    """A mark for a chat a channel table names, which hears that table's updates, not its subscription's."""
    if not tables:
        return ""
    names = ", ".join(f"[channels.{t.name}]" for t in tables)
    return f" (named by {names}: sent {'its' if len(tables) == 1 else 'their'} updates only)"


def describe(visibility: Visibility, components: Sequence[str]) -> str:
    return f"{visibility} updates" + (f" on {', '.join(components)}" if components else "")


COMMANDS = (subscribers,)
