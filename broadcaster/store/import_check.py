"""``store import`` is as strict as the command line: every record is checked before any is stored.

An export is a file, and a file can be edited, truncated or forged. Each
incident record is checked as the CLI checks input: ids against the pattern the
CLI makes them in, every text through the input gate (``messages.gate``: NFC,
no control or format characters, size limits, markers well formed, no
lookalikes), statuses, kinds, states and visibilities from their enums, and
times parseable and within what can be shown. Beyond the fields, what the CLI
would refuse to make: a component the config does not define, a ``[for ID]``
span in a title, a correction of an update ``amend`` would not correct (or of
none in the record). ``check_record`` returns the record with its texts
normalised, or raises ``InputError`` naming the line.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from broadcaster import lazy_re
from broadcaster.channels._ids import is_message_id
from broadcaster.delivery import DONE_STATES, DeliveryState, Rendered, skipped_as_read_the_same
from broadcaster.errors import InputError, bounded, did_you_mean, printable
from broadcaster.messages import gate
from broadcaster.messages.model import (
    INCIDENT_LIFECYCLE,
    MAINTENANCE_LIFECYCLE,
    PUBLIC,
    ComponentStatus,
    Impact,
    Status,
    Visibility,
)
from broadcaster.messages.visibility import PRIVATE_KINDS, public_title, written_texts_read_by
from broadcaster.redaction import stored_text
from broadcaster.store.records import REMOTE_ORIGINS
from broadcaster.times import WINDOW_AHEAD

# What compose.slug_id makes (lower-case words joined by "-"), and the "-2" a taken id gets.
INCIDENT_ID = lazy_re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_ID = 100
# More messages than any post is cut into: the longest text the gate admits (a 200 KB postmortem)
# makes well under 1,000 posts on X, the channel with the shortest messages.
MAX_PARTS = 2_000
# The largest text of a stored rendering: a postmortem (200 KB) with its headers, with room to spare.
MAX_RENDERED_BYTES = 1_000_000
_NAME = lazy_re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # component and destination names, as in the config
# A chat id, @name, channel, or a mail recipient (email's targets: an export of mail deliveries must import).
_TARGET = lazy_re.compile(r"-?[0-9]{1,20}|@[A-Za-z0-9_]{1,64}|[A-Za-z0-9#_.-]{1,100}|"
                     r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}|")  # a mail address as email takes one
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_UPDATE_KINDS = frozenset({"update", "postmortem", "correction", "reminder", "notice", "withdrawal"})
_PUBLIC_TITLE = gate.Rule("title", gate.TITLE.max_chars, one_line=True)
# The ``extra`` key by which an update of this kind names another update of its incident, by sequence: a
# correction the update it corrects (``amend``), an overdue notice the update whose promise was missed (``tick``
# tells of each once). A merge renumbers the file's updates, so ``transfer`` renumbers these with them.
SEQUENCE_KEYS = {"correction": "corrects", "notice": "of"}


def sequence_key(update: Mapping[str, Any]) -> str | None:
    """The ``extra`` key by which ``update`` names another update (``SEQUENCE_KEYS``), if it names one: of the
    notices, only an overdue one does (a customer's SLA notice for staff keeps the customer's id under ``of``)."""
    if update["kind"] == "notice" and update["extra"].get("notice") != "overdue":
        return None
    return SEQUENCE_KEYS.get(update["kind"])


# What ``amend`` refuses to correct: a correction (amend the update it corrects instead), a private notice, and a
# withdrawal (a withdrawn incident takes no more posts).
_UNCORRECTABLE = frozenset({"correction", "withdrawal", *PRIVATE_KINDS})
_SEQUENCE = lazy_re.compile(r"[1-9][0-9]{0,9}")


# The largest count or number a record may hold: far beyond any real one, and far below what the store's 64-bit
# integers take (one more update after 2**63 - 1 would crash every later post to that incident).
MAX_NUMBER = 10**9


def _whole(value: Any) -> TypeGuard[int]:
    """A whole number a record may hold (``MAX_NUMBER`` at most), not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool) and value <= MAX_NUMBER


class _Bad(Exception):
    """One problem in a record: what is wrong, and where in it."""


def check_record(
    record: Mapping[str, Any], where: str, audiences: Collection[str] = frozenset(),
    components: Collection[str] | None = None, audience_names: Mapping[str, str] | None = None,
    everyday: Collection[str] = frozenset(),
) -> dict[str, Any]:
    """The record with its texts normalised; ``InputError`` (naming ``where`` and the field) if any is bad.

    Audience ids (``audiences``, ``audience_detail``, ``[for ID]`` spans, ``audience:ID``
    deliveries) must be among ``audiences``, the config's: an id this config does not
    know could not be routed, nor its detail kept from other customers. Fail closed:
    the record is refused, never kept with its detail reclassified.

    Component ids, of the incident and of each update, must be among ``components``, the
    config's ``[[components]]``, as ``--component`` requires; ``None`` leaves them unchecked
    (a caller without a config). A slip of an audience marker ("[fro acme]") before an id of
    ``audiences`` or a name of ``audience_names`` (the config's, by audience id) is refused in every text, as the
    command line does.
    """
    audience_names = audience_names or {}
    incident = record.get("incident", {})
    label = f"incident {incident.get('id', '?')!r}" if isinstance(incident, Mapping) else "the incident"
    try:
        checked_incident = _incident(incident)
        sequences: set[int] = set()
        updates = [_update(u, n, sequences, audiences) for n, u in enumerate(_list(record, "updates"), 1)]
        _withdrawal_recorded(checked_incident, updates)
        _references_in_record(updates)
        _notices_go_to_their_readers(updates)
        _no_mistyped_markers(checked_incident, updates, [*audiences, *audience_names.values()], everyday)
        _private_title_kept_out(checked_incident)  # after the markers: a mistyped one is the clearer refusal
        _no_staff_labels_beyond_staff(checked_incident, updates, audience_names)
        if components is not None:
            _components_configured(checked_incident, updates, components)
    except _Bad as bad:
        raise InputError(
            f"{where}: {label}: {bad}. Nothing was imported: fix or remove that record and import the file again."
        ) from None
    except InputError as exc:
        raise InputError(f"{where}: {label}: {exc}") from None
    return {"incident": checked_incident, "updates": updates}


def _incident(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad("the incident is not an object")
    incident_id = _text(value, "id")
    if not INCIDENT_ID.fullmatch(incident_id) or len(incident_id) > MAX_ID:
        raise _Bad(f"id {incident_id!r} is not an incident id (lower-case letters, digits and single '-')")
    kind = _choice(value, "kind", ("incident", "maintenance"))
    lifecycle = MAINTENANCE_LIFECYCLE if kind == "maintenance" else INCIDENT_LIFECYCLE
    checked: dict[str, Any] = {
        "id": incident_id,
        # Without raw_title (an older export) the title is the text typed at --title, so it meets --title's rule:
        # "Checkout down (internal only) ..." is refused there, and would otherwise reach every public page.
        "title": gate.admit(_text(value, "title"), "title", _PUBLIC_TITLE if value.get("raw_title") else gate.TITLE),
        "raw_title": _raw_title(value),
        "impact": _choice(value, "impact", [i.value for i in Impact]),
        "status": _choice(value, "status", [s.value for s in lifecycle]),
        "kind": kind,
        "components": _components(value, "components"),
    }
    for key in ("created_at", "updated_at"):
        checked[key] = _time(value, key, required=True)
    for key in ("resolved_at", "scheduled_start", "scheduled_end", "withdrawn_at"):
        checked[key] = _time(value, key)
    _version(value)
    return checked


def _notices_go_to_their_readers(updates: list[dict[str, Any]]) -> None:
    """A private notice goes to staff, or to the one customer it is written for; every other delivery of it was
    skipped when planned. One to be sent anywhere else has no rendering there (``retry`` would fail on it)."""
    for update in updates:
        if update["kind"] not in PRIVATE_KINDS:
            continue
        readers = {"internal", f"audience:{update['extra'].get('audience', '')}"}
        for delivery in update["deliveries"]:
            if delivery["visibility"] not in readers and delivery["state"] != DeliveryState.SKIPPED:
                raise _Bad(f"update #{update['sequence']}: a {update['kind']} is for staff or its own customer, and it "
                           f"has a {delivery['state']} delivery to {delivery['visibility']} readers "
                           f"({delivery['destination']}); mark it skipped or remove it")


def _no_staff_labels_beyond_staff(incident: Mapping[str, Any], updates: list[dict[str, Any]],
                                  names: Mapping[str, str]) -> None:
    """A line labelled for staff ("Internal only: ...", ``gate.staff_label``) in an update its readers beyond staff
    read, as ``post`` refuses it: unless the record keeps the update to staff (public deliveries recorded, every
    delivery beyond staff skipped), the page shows it, so every reader it names is read for (the public's text is
    in each customer's). ``names``: the customers' names, by id."""
    for update in updates:
        _renderings_without_staff_labels(update, names)
        if update["kind"] in PRIVATE_KINDS:
            _notice_without_staff_labels(incident, update, names)
            continue
        found = label_beyond_staff(incident["title"], update, update["deliveries"])
        if found is not None:
            raise _Bad(f"update #{update['sequence']}: {found[0]} has {found[1]!r} heading or ending a line, a "
                       "label for staff, and the update reaches readers beyond staff; mark its deliveries beyond "
                       "staff skipped, move that text into [private]...[/private], or reword the line")


def label_beyond_staff(title: str, update: Mapping[str, Any],
                       deliveries: Iterable[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The first label for staff (the field, the label) in what readers beyond staff read of ``update`` (its
    ``raw_message``, ``kind``, ``audiences`` and ``audience_detail``) recorded with ``deliveries`` (each a
    ``visibility``, ``state`` and ``last_error``); None if none, or if the deliveries keep it to staff (public ones
    recorded, every one beyond staff skipped): otherwise the page shows it, so every customer it names is read for
    too (the public's text is in each customer's)."""
    beyond = [d for d in deliveries if d["visibility"] != "internal"]
    if any(d["visibility"] == str(PUBLIC) for d in beyond) and all(
            d["state"] == DeliveryState.SKIPPED and not skipped_as_read_the_same(d["last_error"]) for d in beyond):
        return None  # kept to staff; a correction skipped as reading the same still shows on the pages
    named = {*update["audiences"], *(key for key, _ in update["audience_detail"]),
             *gate.audience_ids(update["raw_message"], "raw_message"),
             *(Visibility.parse(d["visibility"]).audience for d in beyond if d["visibility"] != str(PUBLIC))}
    read: dict[str, str | None] = {}
    for readers in [PUBLIC, *(Visibility.of(key) for key in sorted(named))]:
        found = gate.first_staff_label(written_texts_read_by(
            title, update["raw_message"], update["kind"], update["audience_detail"], readers), read)
        if found is not None:
            return found
    return None


def _notice_without_staff_labels(incident: Mapping[str, Any], update: Mapping[str, Any],
                                 names: Mapping[str, str]) -> None:
    """A customer's notice (``_notices_go_to_their_readers``: staff's or its own customer's) with a delivery to that
    customer still to make is read as the customer reads it: ``retry`` would send a forged "Internal only: ..." to
    it. Staff's notices, and a customer's whose deliveries were all made or skipped, are not sent again."""
    audience = update["extra"].get("audience", "")
    readers = Visibility.of(audience) if audience else None
    if readers is None or all(d["state"] in DONE_STATES or d["visibility"] != str(readers)
                              for d in update["deliveries"]):
        return
    found = staff_label_beside_name(written_texts_read_by(
        incident["title"], update["raw_message"], update["kind"], update["audience_detail"], readers),
        names.get(audience))
    if found is not None:
        raise _Bad(f"update #{update['sequence']}: {found[0]} has {found[1]!r} heading or ending a line, a label for "
                   f"staff, and the notice is still to be sent to {audience}; mark its deliveries to {audience} "
                   "skipped, or reword the line")


def _renderings_without_staff_labels(update: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """A post in parts half sent beyond staff is finished from its stored rendering (``_rendering``), not from the
    update's text rendered again, so its messages are read as that text is: a record whose message is harmless
    could carry "Internal only: ..." in its rendering to the public or a customer. Every message, whatever the
    delivery's state: a channel may resume from the first (Telegram, where a confirmed part is not one it can
    read), and a merge takes a delivery's parts and rendering over into this store's unsent one."""
    for delivery in update["deliveries"]:
        if delivery["rendering"] is None or delivery["visibility"] == "internal":
            continue
        readers = Visibility.parse(delivery["visibility"])
        field = f"the rendering stored for {delivery['destination']}"
        messages = Rendered.from_stored(delivery["rendering"]).messages
        found = staff_label_beside_name([(field, m) for m in messages], names.get(readers.audience))
        if found is not None:
            raise _Bad(f"update #{update['sequence']}: {found[0]} has {found[1]!r} heading or ending a line, a label "
                       f"for staff, and retry would send it to {delivery['visibility']} readers; remove that "
                       "delivery's rendering and parts, and check the destination before a retry")


def staff_label_beside_name(texts: list[tuple[str, str]], name: str | None) -> tuple[str, str] | None:
    """``gate.first_staff_label`` of texts the product writes for a customer (its notice, a rendering for it), but
    for a label that is part of the customer's own configured name where the product names it, after its "For"
    ("Service level notice for St. Mary Hospital - Staff: ...", "For St. Mary Hospital - Staff:"). Nowhere else:
    "Acme - Internal Only: the cause ..." heading a text is no wording of the product's. A name that is nothing but
    a label ("Staff", "Internal only.") excuses nothing, and a name inside a longer word ("Inter" in "Internal
    only:") is no name there."""
    found = gate.first_staff_label(texts)
    if found is None or not name or _letters(found[1]) == _letters(name):
        return found
    forms = "|".join(re.escape(form) for form in _written_forms(name))
    named = re.compile(rf"(?<!\w)((?i:for|für|för)\s+)(?:{forms})(?!\w)")
    masked = gate.first_staff_label([(field, named.sub(r"\1the customer", text)) for field, text in texts])
    if masked is None and found[1].casefold() in name.casefold():
        return None
    return masked or found


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _written_forms(name: str) -> list[str]:
    """A name as the channels' formats write it: as it is, and escaped for HTML and Slack's mrkdwn."""
    return sorted({name, html.escape(name, quote=False), html.escape(name)}, key=len, reverse=True)


def _withdrawal_recorded(incident: Mapping[str, Any], updates: list[dict[str, Any]]) -> None:
    """A withdrawn incident keeps who withdrew it and why in a withdrawal update, and only it has one:
    an incident marked withdrawn without it (or the reverse) would show on the page or hide from it."""
    has_update = any(u["kind"] == "withdrawal" for u in updates)
    if bool(incident["withdrawn_at"]) != has_update:
        raise _Bad("withdrawn_at and its withdrawal update must come together")


def _references_in_record(updates: list[dict[str, Any]]) -> None:
    """Each sequence an update names (``SEQUENCE_KEYS``) is an earlier update of this record, and a correction's one
    ``amend`` would correct: an import renumbers the record's updates, so a number naming none of them would name
    whichever update holds it in the store, and the page would show the correction in that one's place."""
    kinds = {u["sequence"]: u["kind"] for u in updates}
    for update in updates:
        key = sequence_key(update)
        if key is None or (update["kind"] == "notice" and key not in update["extra"]):
            continue  # only an overdue notice names an update; a correction must
        try:
            _named_update(update, key, kinds)
        except _Bad as bad:
            raise _Bad(f"update #{update['sequence']}: {bad}") from None


def _named_update(update: Mapping[str, Any], key: str, kinds: Mapping[int, str]) -> None:
    value = update["extra"].get(key, "")
    named = int(value) if _SEQUENCE.fullmatch(value) else None
    fix = f"set extra.{key} to the sequence of that update in this record, or remove update #{update['sequence']}"
    if named is None or named >= update["sequence"] or named not in kinds:
        found = f"names update {value!r}" if value else f"has no extra.{key}"
        raise _Bad(f"a {update['kind']} must name an earlier update of this record, and it {found} ({fix})")
    if update["kind"] == "correction" and kinds[named] in _UNCORRECTABLE:
        raise _Bad(f"it corrects update #{named}, a {kinds[named]}, which `amend` never corrects ({fix})")


def _components_configured(
    incident: Mapping[str, Any], updates: list[dict[str, Any]], components: Collection[str]
) -> None:
    """The CLI takes only ``[[components]]`` ids; a component removed from the config since the export would
    otherwise come back on the page, in the feeds and the JSON, with no name or group of its own."""
    named = [("components", incident["components"])]
    named += [(f"update #{u['sequence']}: components", u["components"]) for u in updates]
    for key, pairs in named:
        for component, _ in pairs:
            if component not in components:
                hint = did_you_mean(component, sorted(components))
                raise _Bad(
                    f"{key} names the component {component!r}, which this config does not define.{hint} Add it "
                    f"back to [[components]] in the config (with the id {component!r}), or edit the file to name "
                    f"one it defines ({', '.join(components) or 'none are configured'})"
                )


def _version(value: Mapping[str, Any]) -> None:
    """Checked when present, never imported: a row version counts changes in one store, as a delivery id does."""
    version = value.get("version", 0)
    if not _whole(version) or version < 0:
        raise _Bad(f"version {version!r} is not a count of changes")


def _raw_title(value: Mapping[str, Any]) -> str:
    """Absent in exports made before titles could hold private spans: the title is then all public."""
    raw = value.get("raw_title", "")
    if not isinstance(raw, str):
        raise _Bad("raw_title is not text")
    raw = gate.admit(raw, "raw_title", gate.TITLE) if raw else ""
    if raw and gate.audience_ids(raw, "raw_title"):
        # As ``compose`` refuses it in --title: every reader sees the title, and no view cuts it for one audience.
        raise _Bad("raw_title holds a [for ID] span, and a title takes none (every reader sees it): edit the file "
                   "to move that detail into an update's audience_detail, or remove the span")
    return raw


def _no_mistyped_markers(
    incident: Mapping[str, Any], updates: list[dict[str, Any]], named: list[str], everyday: Collection[str] = ()
) -> None:
    """"[fro acme]" reads as prose, so as public text: refused wherever the command line refuses it."""
    texts = [("title", incident["title"]), ("raw_title", incident["raw_title"]),
             *((f"update #{u['sequence']}: raw_message", u["raw_message"]) for u in updates)]
    for field, text in texts:
        mistyped = gate.mistyped_audience_marker(text, named, everyday=everyday) if text else None
        if mistyped is not None:
            raise _Bad(f"{field} holds {mistyped[1]!r}, which looks like an audience marker but is not one: write "
                       "[for ID]...[/for] exactly in the file (a title takes none)")


def _private_title_kept_out(incident: Mapping[str, Any]) -> None:
    """The public title is raw_title's public part (``public_title``), and neither it nor the id (the page's address,
    every feed's link) holds a private span of the title: an edited file could take either from the private.

    The id is refused only when it holds all of a span's words in a row, not for one word of a span: the CLI keeps
    an incident's id when ``post -i ID --title`` retitles it, and its own export of a retitle that put a word of
    the id in a private span ("Frankfurt outage" to "Outage [private]in Frankfurt[/private]") must import.
    ``compose.refuse_a_retitle_hiding_the_id`` refuses such a retitle when the word tells anything."""
    if not incident["raw_title"]:
        return
    public = gate.comparable(incident["title"])
    spans = [piece for piece, private in gate.split(incident["raw_title"], "raw_title") if private and piece.strip()]
    if any(gate.comparable(piece.strip()) in public for piece in spans):
        raise _Bad("the public title holds a private span of raw_title")
    _title_is_the_public_part(incident["title"], incident["raw_title"])
    in_public = set(_id_words(incident["title"]))
    in_id = _id_words_made_from_title(incident["id"])
    for piece in spans:
        words = [w for w in _id_words(piece) if w not in in_public]
        if words and any(in_id[i:i + len(words)] == words for i in range(len(in_id))):
            raise _Bad(f"the id {incident['id']!r} holds a private span of raw_title ({' '.join(words)}): the "
                       "page's address would show it. Edit the file to give the incident an id made from its "
                       "public title (its first words, then the day: api-down-2026-12-01)")


def _title_is_the_public_part(title: str, raw_title: str) -> None:
    """``title`` is what ``public_title(raw_title)`` makes. Only spacing may differ: before 2026-12-05 a cut
    between two words joined them ("Errors[private]x[/private]now" gave "Errorsnow", now "Errors now")."""
    try:
        expected = public_title(raw_title, "raw_title")
    except InputError as exc:
        raise _Bad(str(exc).rstrip(".")) from None
    if _unspaced(title) != _unspaced(expected):
        raise _Bad(f"title {title!r} is not raw_title's public part {expected!r} (raw_title with its "
                   "[private] spans cut out), and the page would show the difference: edit the file to set title "
                   "to that")


def _unspaced(text: str) -> str:
    return "".join(gate.comparable(text).split())


def _id_words_made_from_title(incident_id: str) -> list[str]:
    """The id's words the CLI made from the title: the day and the "-2" or unspelt tail it adds are left out (so a
    span of digits, an address or a circuit, is looked for as any other word), and an unspelt id's kind
    ("incident-2026-12-01-3f9a1c") or the stem of a title without letters of an id ("incident") is none."""
    words = _id_words(_ID_MADE_TAIL.sub("", incident_id))
    return [] if words in (["incident"], ["maintenance"]) else words


# What the CLI puts after an id's words: the day it started, then "-2"... when taken or an unspelt id's tail.
_ID_MADE_TAIL = lazy_re.compile(r"-[0-9]{4}-[0-9]{2}-[0-9]{2}(?:-[0-9a-z]+)?$")


def _id_words(text: str) -> list[str]:
    """The words an id is made of, as ``compose.slug_id`` makes them: "Störung fra-2" gives storung, fra, 2."""
    return re.findall(r"[a-z0-9]+", gate.without_accents(text).lower())


def _update(value: Any, position: int, sequences: set[int], audiences: Collection[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"update {position} is not an object")
    sequence = value.get("sequence")
    if not _whole(sequence) or sequence < 1 or sequence in sequences:
        raise _Bad(f"update {position}: sequence {sequence!r} is not a new positive number")
    sequences.add(sequence)
    try:
        return _update_fields(value, sequence, audiences)
    except _Bad as bad:
        raise _Bad(f"update #{sequence}: {bad}") from None
    except InputError as exc:
        raise InputError(f"update #{sequence}: {exc}") from None


def _update_fields(value: Mapping[str, Any], sequence: int, audiences: Collection[str]) -> dict[str, Any]:
    kind = _choice(value, "kind", sorted(_UPDATE_KINDS))
    rule = gate.POSTMORTEM if kind in ("postmortem", "correction") else gate.MESSAGE
    message = gate.admit(_text(value, "raw_message"), "raw_message", rule)
    if not message.strip():
        raise _Bad("raw_message is empty")
    for audience in gate.audience_ids(message, "raw_message"):
        _known_audience(audience, audiences, "raw_message")
    extra = value.get("extra", {})
    if not isinstance(extra, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise _Bad("extra is not an object of texts")
    return {
        "sequence": sequence,
        "created_at": _time(value, "created_at", required=True),
        "status": _choice(value, "status", [s.value for s in Status]),
        "raw_message": message,
        "components": _components(value, "components"),
        "private_note": gate.admit(_text(value, "private_note", ""), "private_note", gate.PRIVATE),
        "customers": _names(value, "customers"),
        "tickets": _names(value, "tickets"),
        "etr": _time(value, "etr"),
        "next_update_by": _time(value, "next_update_by"),
        "author": gate.admit(_text(value, "author", ""), "author", gate.NAME),
        "kind": kind,
        "extra": {k: gate.admit(v, f"extra.{k}", gate.NAME) for k, v in extra.items()},
        "audiences": [_known_audience(a, audiences, "audiences") for a in _names(value, "audiences")],
        "audience_detail": _audience_detail(value, audiences),
        "deliveries": [_delivery(d, n, audiences) for n, d in enumerate(_list(value, "deliveries"), 1)],
    }


def _known_audience(audience: str, audiences: Collection[str], key: str) -> str:
    if audience not in audiences:
        raise _Bad(
            f"{key} names the audience {audience!r}, which this config does not define: add [audiences.{audience}] "
            "to the config (or import into the store of the config that has it)"
        )
    return audience


def _audience_detail(value: Mapping[str, Any], audiences: Collection[str]) -> list[list[str]]:
    """``[[audience id, text], ...]``; absent in exports made before audiences."""
    result = []
    for entry in _list(value, "audience_detail"):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            raise _Bad(f"audience_detail holds {entry!r}, not an [audience, text] pair")
        audience = _known_audience(entry[0], audiences, "audience_detail")
        result.append([audience, gate.admit(entry[1], f"audience_detail for {audience}", gate.AUDIENCE_DETAIL)])
    gate.check_count(result, "audience_detail")
    return result


def _delivery(value: Any, position: int, audiences: Collection[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"delivery {position} is not an object")
    destination = _text(value, "destination")
    if not _NAME.fullmatch(destination):
        raise _Bad(f"delivery {position}: destination {destination!r} is not a destination name")
    target = _text(value, "target", "")
    if not _TARGET.fullmatch(target):
        raise _Bad(f"delivery {position}: target {target!r} is not a chat or channel")
    attempts = value.get("attempts", 0)
    if not _whole(attempts) or attempts < 0:
        raise _Bad(f"delivery {position}: attempts {attempts!r} is not a count")
    checked: dict[str, Any] = {
        "destination": destination, "target": target, "attempts": attempts,
        "visibility": _visibility(value, position, audiences),
        "state": _choice(value, "state", sorted(DeliveryState)),
    }
    for key in ("remote_id", "thread_ref", "last_error", "claimed_by"):
        text = value.get(key)
        if text is not None and not isinstance(text, str):
            raise _Bad(f"delivery {position}: {key} is not text")
        checked[key] = _plain(text, key) if text else text
    checked["parts"] = _parts(value, position)
    checked["rendering"] = _rendering(value, position, checked["parts"])
    if _mail_recipient(target):
        _message_ids(checked, position)
    starts_thread = value.get("starts_thread", False)  # absent in exports made before schema 9
    if not isinstance(starts_thread, bool):
        raise _Bad(f"delivery {position}: starts_thread {starts_thread!r} is not true or false")
    checked["starts_thread"] = starts_thread
    if "remote_origin" in value:  # absent in exports made before schema 6; an import sets it anyway
        checked["remote_origin"] = _choice(value, "remote_origin", list(REMOTE_ORIGINS))
    for key in ("created_at", "updated_at"):
        checked[key] = _time(value, key, required=True)
    for key in ("claimed_at", "sent_at"):
        checked[key] = _time(value, key)
    return checked


def _mail_recipient(target: str) -> bool:
    """An email delivery's target (of ``_TARGET``'s forms, the only one with "@" after its first character)."""
    return "@" in target[1:]


def _message_ids(delivery: Mapping[str, Any], position: int) -> None:
    """A mail's post ids are Message-IDs the email channel takes (``is_message_id``): the next mail to the recipient
    writes them into In-Reply-To and References, where the mail library decodes an encoded word ("=?") into other
    text, even into headers of someone else's; the channel would then refuse every follow-up to that recipient."""
    ids = [("remote_id", delivery["remote_id"]), ("thread_ref", delivery["thread_ref"])]
    for key, found in [*ids, *(("parts", part) for part in delivery["parts"])]:
        if found and not is_message_id(found):
            raise _Bad(
                f"delivery {position}: {key} {found!r} of the mail to {delivery['target']} is not a Message-ID as "
                'the email channel takes them, <id@domain> without "=?"; set it to that mail\'s Message-ID header, '
                "or remove that delivery"
            )


def _visibility(value: Mapping[str, Any], position: int, audiences: Collection[str]) -> str:
    """``public``, ``internal`` (``private`` in exports made before audiences) or ``audience:ID``."""
    return _scope(value, audiences, f"delivery {position}: ")


def _parts(value: Mapping[str, Any], position: int) -> list[str]:
    """The remote ids of a post's confirmed parts; absent in exports made before posts were recorded in parts."""
    parts = value.get("parts", [])
    if not isinstance(parts, list) or not all(isinstance(p, str) and p.strip() for p in parts):
        raise _Bad(f"delivery {position}: parts is not a list of remote ids")
    if len(parts) > MAX_PARTS:
        raise _Bad(f"delivery {position}: parts holds {len(parts)} ids, more than a post is ever cut into ({MAX_PARTS})")
    if len(set(parts)) != len(parts):
        raise _Bad(f"delivery {position}: parts names the same remote id twice")
    return [_plain(p, "parts") for p in parts]


def _rendering(value: Mapping[str, Any], position: int, parts: list[str]) -> dict[str, Any] | None:
    """The rendering a post in parts half sent was cut from (schema 8), which a retry here finishes it from: as
    broadcaster stores one, its texts as the input gate admits them (no control or format character), as many
    messages as the parts confirmed at least. Absent in older exports; with no confirmed parts it is not needed."""
    found = value.get("rendering")
    if found is None or not parts:
        return None
    bad = f"delivery {position}: rendering is not one broadcaster wrote"
    try:
        rendering = Rendered.from_stored(found) if isinstance(found, Mapping) else None
    except ValueError as exc:
        raise _Bad(f"{bad} ({exc}); remove it, and check the destination before a retry") from None
    if rendering is None:
        raise _Bad(f"{bad} (not an object); remove it, and check the destination before a retry")
    texts = [rendering.text, *rendering.parts]
    if len(rendering.parts) > MAX_PARTS or not len(parts) <= len(rendering.messages):
        raise _Bad(f"{bad}: it has {len(rendering.messages)} message(s) for {len(parts)} confirmed part(s)")
    for text in texts:
        if gate.normalise(text, "rendering") != text or len(text.encode()) > MAX_RENDERED_BYTES:
            raise _Bad(f"{bad}: a text of it is not in NFC, or over {MAX_RENDERED_BYTES:,} bytes")
    payload = json.dumps(rendering.payload, ensure_ascii=False)
    if gate.normalise(payload, "rendering") != payload or len(payload.encode()) > MAX_RENDERED_BYTES:
        raise _Bad(f"{bad}: its payload is not in NFC, or over {MAX_RENDERED_BYTES:,} bytes")
    if gate.normalise(rendering.visibility, "rendering") != rendering.visibility or len(rendering.visibility) > 200:
        raise _Bad(f"{bad}: its visibility is not a visibility")
    return rendering.stored()


# -- fields ----------------------------------------------------------------------


# A record's notes quoting a server (an error, why a chat left): a store's export made before errors were kept to
# one line may hold a line break, taken in the one-line form errors are now made in (``errors.printable``).
_NOTES = ("last_error", "inactive_reason")
_LINE_BREAKS = "\n\t\u2028\u2029"


def _plain(text: str, key: str) -> str:
    """A record's own one-line value (an error, a remote id): normalised and bounded, markers not parsed, and kept
    to one line: shown on the line of its delivery, a line of its own could pass for another's ("✓ pub  sent")."""
    if key in _NOTES:
        # A server's words, which a version before the bound kept whole (a proxy's error page): cut as the engine
        # stores them today, masked and escaped first, never a reason to refuse the store's own export (review 48b).
        # Masked before the cut (this config's secrets, which the exporting one may not have known): a token cut in
        # two is masked by neither half, and the end of one after the "…" was shown by `show` (review 49a). What the
        # gate refuses is escaped, not refused: the engine keeps a server's words as they came, a private-use
        # character with them (a refusal quoting "\uf8ff", Apple's logo), and its own export was refused.
        return bounded(printable(gate.with_hidden_escaped(stored_text(text)), one_line=True))
    # An id as the service wrote it (any character but what no store or line holds): in another form (an accent
    # composed, an invisible character taken out) it names no post, or another one, where broadcaster sends it back
    # (a reply, an edit, a delete). Shown escaped.
    gate.check_size(text, key, gate.PRIVATE)
    broken = next((i for i, char in enumerate(text) if char in _LINE_BREAKS), None)
    if broken is not None:
        raise _Bad(f"{key} {text[:40]!r} has a line break or tab at character {broken + 1}, which no id a service "
                   "gave holds; set it to the id as the service gave it, or remove that delivery")
    # A control character (an ESC that drives a terminal) or a lone surrogate (no store holds one): refused, as
    # from an export written by hand. An invisible format character (a zero-width space) a service put in an id is
    # kept: the store's own export holds it, and sent back as it came it names the post.
    odd = next((i for i, char in enumerate(text) if unicodedata.category(char) in ("Cc", "Cs")), None)
    if odd is not None:
        char = text[odd]
        raise _Bad(f"{key} {printable(text[:40])!r} holds a control character or a lone surrogate (U+{ord(char):04X}) "
                   f"at character {odd + 1}, which no post id holds; set it to the id as the service gave it, or "
                   "remove that delivery")
    return text


def _text(value: Mapping[str, Any], key: str, default: str | None = None) -> str:
    found = value.get(key, default)
    if found is None:
        raise _Bad(f"{key} is missing")
    if not isinstance(found, str):
        raise _Bad(f"{key} is not text")
    return found


def _list(value: Mapping[str, Any], key: str) -> list[Any]:
    found = value.get(key, [])
    if not isinstance(found, list):
        raise _Bad(f"{key} is not a list")
    return found


def _choice(value: Mapping[str, Any], key: str, allowed: Any) -> str:
    found = value.get(key)
    if found not in list(allowed):
        raise _Bad(f"{key} {found!r} is not one of {', '.join(allowed)}")
    return str(found)


def _names(value: Mapping[str, Any], key: str) -> list[str]:
    found = _list(value, key)
    if not all(isinstance(v, str) for v in found):
        raise _Bad(f"{key} is not a list of texts")
    gate.check_count(found, key)
    return [gate.admit(v, key, gate.NAME) for v in found]


def _components(value: Mapping[str, Any], key: str) -> list[list[str]]:
    result = []
    for entry in _list(value, key):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            raise _Bad(f"{key} holds {entry!r}, not a [component, status] pair")
        if not _NAME.fullmatch(entry[0]) or entry[1] not in {s.value for s in ComponentStatus}:
            raise _Bad(f"{key} holds {entry!r}: an unknown component name or status")
        result.append(list(entry))
    return result


def _time(value: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    found = value.get(key)
    if found is None:
        if required:
            raise _Bad(f"{key} is missing")
        return None
    parsed = _parse(found, key)
    latest = datetime.now(UTC) + WINDOW_AHEAD
    if not _EARLIEST <= parsed <= latest:
        raise _Bad(f"{key} {found!r} is outside {_EARLIEST:%Y-%m-%d} to {latest:%Y-%m-%d}")
    return parsed.isoformat(timespec="microseconds")


def _parse(found: Any, key: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(found) if isinstance(found, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _Bad(f"{key} {found!r} is not an ISO 8601 time with its offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _Bad(f"{key} {found!r} is outside the calendar") from None


# -- the bot's invites and subscriptions -------------------------------------------------

_HASH = lazy_re.compile(r"[0-9a-f]{64}")
_CHAT_ID = lazy_re.compile(r"-?[0-9]{1,20}")
_CHAT_KINDS = ("group", "private")
# Telegram's supergroup and channel ids are -(10**12 + the channel's number): "-100" and at least ten more digits. A
# basic group's id is above it, and may itself begin with -100 (-1002345678), so that prefix alone does not tell.
_SUPERGROUPS_FROM = -(10**12)


def check_subscriber_record(
    record: Mapping[str, Any], where: str, audiences: Collection[str] = frozenset()
) -> dict[str, Any]:
    """``{"invite": {...}}``, ``{"subscription": {...}}``, ``{"removed": {...}}`` or ``{"migrated": {...}}``
    checked; ``InputError`` naming ``where`` otherwise.

    A visibility naming an audience this config does not define is refused, as for deliveries.
    """
    kind, value = next(iter(record.items()))
    try:
        if not isinstance(value, Mapping):
            raise _Bad(f"the {kind} is not an object")
        if kind == "removed":
            checked = _removal(value)
        elif kind == "migrated":
            checked = _migration(value)
        else:
            checked = _invite(value, audiences) if kind == "invite" else _subscription(value, audiences)
    except _Bad as bad:
        raise InputError(
            f"{where}: {kind}: {bad}. Nothing was imported: fix or remove that record and import the file again."
        ) from None
    return {kind: checked}


def _invite(value: Mapping[str, Any], audiences: Collection[str]) -> dict[str, Any]:
    invite_hash = _text(value, "hash")
    if not _HASH.fullmatch(invite_hash):
        raise _Bad("hash is not a SHA-256 in hex (an export holds invites' hashes, never their codes)")
    max_uses, uses = value.get("max_uses"), value.get("uses", 0)
    if max_uses is not None and (not _whole(max_uses) or max_uses < 1):
        raise _Bad(f"max_uses {max_uses!r} is not a positive count")
    if not _whole(uses) or uses < 0:
        raise _Bad(f"uses {uses!r} is not a count")
    return {
        "hash": invite_hash, "visibility": _scope(value, audiences),
        "components": _component_names(value), "created_at": _time(value, "created_at", required=True),
        "expires_at": _time(value, "expires_at"), "max_uses": max_uses, "uses": uses,
        "revoked_at": _time(value, "revoked_at"),
    }


def _subscription(value: Mapping[str, Any], audiences: Collection[str]) -> dict[str, Any]:
    chat_id = _text(value, "chat_id")
    if not _CHAT_ID.fullmatch(chat_id):
        raise _Bad(f"chat_id {chat_id[:30]!r} is not a Telegram chat id")
    active, invite, reason = value.get("active"), value.get("invite"), value.get("inactive_reason")
    if not isinstance(active, bool):
        raise _Bad("active is not true or false")
    if invite is not None and not (isinstance(invite, str) and _HASH.fullmatch(invite)):
        raise _Bad("invite is not an invite's hash")
    if reason is not None and not isinstance(reason, str):
        raise _Bad("inactive_reason is not text")
    visibility = _scope(value, audiences)
    if invite is None and visibility != "public":
        # A chat's visibility is only ever an invite's; without one it is a plain /start's.
        raise _Bad(f"visibility {visibility!r} without an invite (a chat that joined with no invite gets public updates)")
    return {
        "chat_id": str(int(chat_id)), "kind": _choice(value, "kind", _CHAT_KINDS),
        "visibility": visibility, "components": _component_names(value),
        "active": active, "joined_at": _time(value, "joined_at", required=True),
        "updated_at": _time(value, "updated_at", required=True), "invite": invite,
        "inactive_reason": _plain(reason, "inactive_reason") if reason else None,
    }


def _removal(value: Mapping[str, Any]) -> dict[str, Any]:
    """A ``subscribers remove`` carried by an export: which chat, and when."""
    chat_id = _text(value, "chat_id")
    if not _CHAT_ID.fullmatch(chat_id):
        raise _Bad(f"chat_id {chat_id[:30]!r} is not a Telegram chat id")
    return {"chat_id": str(int(chat_id)), "removed_at": _time(value, "removed_at", required=True)}


def _migration(value: Mapping[str, Any]) -> dict[str, Any]:
    """A group that became a supergroup, carried by an export: its old id, a basic group's, and its new one, a
    supergroup's (Telegram gives those ``-100`` and the channel's number). Telegram migrates a basic group once, to a
    supergroup, so a line linking any other two chats was edited or damaged: taken, a removal of either chat would
    forget both. Whether each id migrates once, and to no chat of other readers, ``transfer`` checks across lines."""
    ids = []
    for key in ("chat_id", "to"):
        chat_id = _text(value, key)
        if not _CHAT_ID.fullmatch(chat_id) or int(chat_id) >= 0:
            raise _Bad(f"{key} {chat_id[:30]!r} is not a Telegram group's id")
        ids.append(str(int(chat_id)))
    if int(ids[1]) > _SUPERGROUPS_FROM:  # "-1002345678" is a basic group's, though it starts with -100
        raise _Bad(f"to {ids[1]!r} is not a supergroup's id (-100 and at least ten more digits): a group only ever "
                   "becomes a supergroup")
    if int(ids[0]) <= _SUPERGROUPS_FROM:
        raise _Bad(f"chat_id {ids[0]!r} is a supergroup's id: only a basic group becomes a supergroup")
    if ids[0] == ids[1]:
        raise _Bad("chat_id and to are the same chat")
    return {"chat_id": ids[0], "to": ids[1]}


def _scope(value: Mapping[str, Any], audiences: Collection[str], where: str = "") -> str:
    """A record's ``visibility``, whose audience (if any) the config must define."""
    found = value.get("visibility")
    try:
        scope = Visibility.parse(found) if isinstance(found, str) else None
    except ValueError:
        scope = None
    if scope is None:
        raise _Bad(f"{where}visibility {found!r} is not one of public, internal, audience:ID")
    if scope.audience:
        _known_audience(scope.audience, audiences, f"{where}visibility")
    return str(scope)


def _component_names(value: Mapping[str, Any]) -> list[str]:
    names = _list(value, "components")
    if not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names):
        raise _Bad("components is not a list of component names")
    gate.check_count(names, "components")
    return list(dict.fromkeys(names))
