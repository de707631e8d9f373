"""A staff update naming dozens of customers, each with its --for detail, on Matrix.

Cutting each text is not enough past some dozens of customers: the event (and its ``m.replace`` edit,
which carries the text twice) would be larger than the homeserver's 64 KiB and the staff room would get
nothing. Customers are then left out whole and counted, as on Discord and Teams, and the cut says that the
rest is not in this message (never that the public incident page has it: it never holds private text).
"""

from __future__ import annotations

import asyncio

from broadcaster.messages import matrix as fmt
from broadcaster.messages.model import Audience
from broadcaster.messages.visibility import PrivateView, private_view

from tests.channel_updates import URL, incident, update
from tests.fakes.matrix import FakeMatrix
from tests.test_matrix import ROOM, TOKEN, make_channel, posted, send_once, server  # noqa: F401

DETAIL = "Your region eu-west is affected; " * 60


def staff_view(customers: int, name_len: int = 0) -> PrivateView:
    named = {f"cust{i}": Audience(f"cust{i}", f"Customer {i} " + "n" * name_len) for i in range(customers)}
    upd = update(1, message="We are looking into it.", audiences=tuple(named),
                 audience_detail=tuple((key, f"{key}: {DETAIL}") for key in named))
    return private_view(incident(), upd, url=URL, audiences=named)


def fresh(server: FakeMatrix) -> FakeMatrix:  # noqa: F811
    server.reset(token=TOKEN, rooms=[ROOM])
    server.echo_credentials = False
    return server


def test_a_hundred_customers_with_detail_reach_the_staff_room_some_counted(server: FakeMatrix) -> None:  # noqa: F811
    fake = fresh(server)
    send_once(fake, staff_view(100, 60))
    [event] = posted(fake)
    body = event.content["body"]
    shown = [i for i in range(100) if f"cust{i}: Your region" in body]
    assert shown == list(range(len(shown))) and 0 < len(shown) < 100  # the first ones, in order
    assert f"…and {100 - len(shown)} more (cut to fit Matrix)" in body
    assert f"and {100 - len(shown)} more" in event.content["formatted_body"]
    assert "incident page has it in full" not in body.split("Private:")[1]  # private cuts point nowhere public


def test_the_edit_of_an_update_naming_sixty_customers_fits_too(server: FakeMatrix) -> None:  # noqa: F811
    fake = fresh(server)
    v = staff_view(60)
    receipt = send_once(fake, v)
    channel = make_channel(fake)

    async def edit() -> None:
        try:
            await channel.edit(channel.render(v), target="", remote_id=receipt.remote_id)
        finally:
            await channel.aclose()

    asyncio.run(edit())
    first, replaced = posted(fake)
    assert replaced.relation["rel_type"] == "m.replace"
    assert "more (cut to fit Matrix)" in replaced.content["m.new_content"]["body"]


def test_a_few_customers_are_all_shown_whole() -> None:
    body = fmt.content(staff_view(3))["body"]
    assert all(f"cust{i}: {DETAIL.strip()}" in body for i in range(3))
    assert "more" not in body
