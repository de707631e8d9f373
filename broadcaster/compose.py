"""Build the next Incident and Update from what the operator typed, and check it.

Everything that can be wrong with an operator's input is caught here, before
anything is stored: unknown components, impossible status moves, malformed
private markers, bad times. Errors name the problem and the fix.
"""

from __future__ import annotations

import getpass
import os
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from broadcaster import lazy_re, redaction
from broadcaster.config import Config
from broadcaster.errors import InputError, did_you_mean
from broadcaster.messages import gate
from broadcaster.messages.model import (
    INCIDENT_LIFECYCLE,
    MAINTENANCE_LIFECYCLE,
    AffectedComponent,
    ComponentStatus,
    Impact,
    Incident,
    Status,
    Update,
)
from broadcaster.messages.visibility import COMPLETED_STEP, WINDOW_STEP, public_title, started_as_told, validate_message
from broadcaster.times import is_duration, parse_time

_DEFAULT_COMPONENT_STATUS = {
    Impact.NONE: ComponentStatus.OPERATIONAL,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
}


@dataclass(frozen=True)
class Draft:
    """What the operator typed for one update, not yet checked."""

    message: str
    incident_id: str | None = None
    title: str | None = None
    impact: str | None = None
    status: str | None = None
    components: Sequence[str] = ()
    private: str = ""
    customers: Sequence[str] = ()  # audience ids (--customer)
    tickets: Sequence[str] = ()
    for_detail: Sequence[tuple[str, str]] = ()  # (audience id, text) pairs (--for ID TEXT)
    etr: str | None = None
    next_update: str | None = None
    reopen: bool = False
    kind: str = "update"
    incident_kind: str = "incident"
    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


def choose(value: str, allowed: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``allowed``, whole; anything else is refused with a suggestion.

    Never a prefix (``partial`` is not ``partial_outage``): an operator under stress
    must get what they typed or an error, never a guess. Case and ``-``/space for
    ``_`` are spelling, not guessing, and are accepted.
    """
    normalised = _spelt_alike(value)
    if normalised in allowed:
        return normalised
    hint = _meant_by_the_word(normalised, allowed) or did_you_mean(normalised, allowed)
    raise InputError(f"unknown {what} {value!r}.{hint} Use one of: {', '.join(allowed)}.")


# Everyday words an operator types for a status or an impact, and the names they may mean: suggested, never taken
# (``down`` is a partial or a major outage, and only the operator knows which). ``did_you_mean`` finds only spellings.
_WORDS_FOR = {
    "down": ("major_outage", "partial_outage"), "outage": ("major_outage", "partial_outage"),
    "broken": ("major_outage", "partial_outage"), "offline": ("major_outage",), "unavailable": ("major_outage",),
    "slow": ("degraded_performance",), "latency": ("degraded_performance",),
    "up": ("operational",), "ok": ("operational",), "fine": ("operational",), "healthy": ("operational",),
    "working": ("operational",), "normal": ("operational",),
    "maint": ("under_maintenance",),
    "fixed": ("resolved", "monitoring"), "done": ("resolved",), "closed": ("resolved",), "solved": ("resolved",),
    "watching": ("monitoring",), "found": ("identified",), "cause_found": ("identified",), "known": ("identified",),
    "looking": ("investigating",), "ongoing": ("investigating",), "open": ("investigating",),
    "low": ("minor",), "small": ("minor",), "medium": ("minor", "major"), "high": ("major", "critical"),
    "severe": ("critical", "major"), "sev1": ("critical",), "sev2": ("major",), "sev3": ("minor",),
}


def _meant_by_the_word(word: str, allowed: Sequence[str]) -> str:
    meant = [name for name in _WORDS_FOR.get(word, ()) if name in allowed]
    return f" Did you mean {' or '.join(repr(name) for name in meant)}?" if meant else ""


def _spelt_alike(value: str) -> str:
    """A status or impact as ``choose`` compares it: case, ``-`` and spaces aside."""
    return value.strip().lower().replace("-", "_").replace(" ", "_")


_SLUG_WORDS = 32  # characters of the title's words an id keeps


def slug_id(title: str, now: datetime) -> str:
    """A short, typeable, stable id from the title and date: ``api-errors-2026-11-22``."""
    # Accents off first ("Störung" gives "storung", not "st-rung"); other scripts leave "incident".
    words = re.findall(r"[a-z0-9]+", gate.without_accents(title).lower())
    stem = "-".join(words[:3]) or "incident"
    return f"{stem[:_SLUG_WORDS].rstrip('-')}-{now:%Y-%m-%d}"


def unspelt_id(incident: Incident, secret: str, stored: int) -> str:
    """An id that spells nothing of the title, for an incident kept from the public when it is created:
    ``incident-2026-11-22-3f9a1c``. Its id is in every public address once it is widened (``--widen``, under
    a new title), and a plain ``api-errors-...`` taken by it would make the public one ``api-errors-...-2``.

    Keyed by the store's secret and how far the store has got (``Store.site_generation``), not drawn at random:
    the confirmation's dry run and the post after it, or a ``preview`` and the ``post`` after it, name the same
    incident, and two incidents of one title get two ids (never a ``-2`` telling of the other)."""
    import hashlib
    import hmac

    said = f"unspelt|{incident.id}|{stored}".encode()
    return f"{incident.kind}-{incident.created_at:%Y-%m-%d}-{hmac.new(secret.encode(), said, hashlib.sha256).hexdigest()[:6]}"


def maintenance_component_status(status: Status) -> ComponentStatus:
    if status in (Status.IN_PROGRESS, Status.VERIFYING):
        return ComponentStatus.UNDER_MAINTENANCE
    return ComponentStatus.OPERATIONAL


def author_name(config: Config) -> str:
    """Who posts: ``[operator] name`` (checked as the config is read), else the login name, with any
    control or format character taken out: it is printed in terminals, staff channels and exports."""
    if config.author:
        return config.author
    try:
        login = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""
    return " ".join("".join(c for c in login if unicodedata.category(c)[0] != "C").split())


def parse_components(entries: Sequence[str], config: Config, default: ComponentStatus,
                     current: Mapping[str, ComponentStatus] | None = None) -> tuple[AffectedComponent, ...]:
    """``api`` or ``api=partial_outage``; every id must be in ``[[components]]``. A bare id keeps the status
    ``current`` holds for it (what the incident reported so far), else ``default``."""
    current = current or {}
    known = config.component_ids
    result: dict[str, AffectedComponent] = {}
    for entry in entries:
        component_id, equals, status_text = entry.partition("=")
        component_id = component_id.strip()
        if component_id not in known:
            hint = did_you_mean(component_id, list(known))
            listing = ", ".join(known) if known else "none are configured: add [[components]] to the config"
            raise InputError(f"unknown component {component_id!r}.{hint} Known components: {listing}.")
        if equals and not status_text.strip():  # `-C api=$STATUS`, STATUS unset: a status was meant, not "keep it"
            raise InputError(
                f"-C {component_id}= gives no status after '=' (an unset shell variable?). Give one "
                f"(-C {component_id}=operational; any of {', '.join(s.value for s in ComponentStatus)}), or a bare "
                f"-C {component_id} to keep the status it has. Nothing was stored or sent.")
        status = (
            ComponentStatus(choose(status_text, [s.value for s in ComponentStatus], "component status"))
            if status_text
            else current.get(component_id, default)
        )
        if component_id in result and result[component_id].status != status:
            raise InputError(
                f"-C gives {component_id} two statuses ({result[component_id].status.value}, then {status.value}): "
                "which is meant? Give it once. Nothing was stored or sent.")
        result[component_id] = AffectedComponent(component_id, status)
    return tuple(result.values())


def _lifecycle(kind: str) -> tuple[Status, ...]:
    return MAINTENANCE_LIFECYCLE if kind == "maintenance" else INCIDENT_LIFECYCLE


def check_transition(incident: Incident, new_status: Status, reopen: bool) -> None:
    """Forward moves are free; a closed incident or a backward move needs ``--reopen``."""
    lifecycle = _lifecycle(incident.kind)
    if new_status not in lifecycle:
        raise InputError(
            f"{incident.id} is an {incident.kind}; its statuses are {', '.join(s.value for s in lifecycle)}."
        )
    if reopen:
        return
    if incident.status.is_closed:
        again = f"broadcaster post -i {incident.id} --reopen -s {incident.status.value} \"...\""
        raise InputError(
            f"{incident.id} is already {incident.status.value}; nothing was stored or sent. To say more about it, "
            f"post with --reopen: {again} (without -s, --reopen opens it again); or start a new incident."
        )
    if lifecycle.index(new_status) < lifecycle.index(incident.status):
        raise InputError(
            f"{incident.id} is already {incident.status.value}; moving back to {new_status.value} "
            "needs --reopen."
        )


def merge_components(
    current: tuple[AffectedComponent, ...], reported: tuple[AffectedComponent, ...], closed: bool
) -> tuple[AffectedComponent, ...]:
    """The incident's component statuses after an update; closing restores the rest to operational."""
    merged = {c.id: c for c in current}
    merged.update({c.id: c for c in reported})
    if closed:
        explicit = {c.id for c in reported}
        merged = {
            cid: c if cid in explicit else AffectedComponent(cid, ComponentStatus.OPERATIONAL)
            for cid, c in merged.items()
        }
    return tuple(merged.values())


def as_shown(incident: Incident, shown: Sequence[Update]) -> Incident:
    """``incident`` as its ``shown`` updates left it (status, end, components), where others are kept from the
    readers: the stored record holds what every update changed, a staff-only "major outage" too."""
    updates = [u for u in shown if u.kind == "update"]
    if not updates:
        return incident
    components: tuple[AffectedComponent, ...] = ()
    for update in updates:
        components = merge_components(components, update.components, update.status.is_closed)
        if incident.kind == "maintenance" and not update.status.is_closed:
            components = tuple(AffectedComponent(c.id, maintenance_component_status(update.status)) for c in components)
    last = updates[-1]
    return replace(started_as_told(incident, updates), status=last.status, components=components,
                   resolved_at=last.created_at if last.status.is_closed else None)


def without_kept(incident: Incident, updates: list[Update], kept: Collection[tuple[str, int]]
                 ) -> tuple[Incident, list[Update]]:
    """``incident`` and ``updates`` without those ``kept`` from the readers ((incident id, sequence) pairs,
    ``Store.kept_off``), the incident then as the others left it (``as_shown``)."""
    shown = [u for u in updates if (incident.id, u.sequence) not in kept]
    return (as_shown(incident, shown) if len(shown) < len(updates) else incident), shown


def admit(draft: Draft) -> Draft:
    """Every text of the draft through the input gate (``messages.gate``): normalised, or refused."""
    gate.check_count(tuple(draft.customers), "--customer")
    gate.check_count(tuple(draft.tickets), "--ticket")
    gate.check_count(tuple(draft.for_detail), "--for")
    return replace(
        draft,
        message=gate.admit(draft.message, "the message", gate.MESSAGE),
        title=gate.admit(draft.title, "--title", gate.TITLE) if draft.title is not None else None,
        private=gate.admit(draft.private, "--private", gate.PRIVATE),
        customers=tuple(gate.admit(c, "--customer", gate.NAME) for c in draft.customers),
        tickets=tuple(gate.admit(t, "--ticket", gate.NAME) for t in draft.tickets),
        for_detail=tuple(
            (gate.admit(key, "--for", gate.NAME).strip(), gate.admit(text, f"--for {key}", gate.AUDIENCE_DETAIL))
            for key, text in draft.for_detail
        ),
    )


def check_audiences(draft: Draft, config: Config) -> None:
    """Every audience the draft names (``--customer``, ``--for``, ``[for ID]``) must be configured.

    An unknown id is refused with the closest configured one: detail for a customer
    nobody routes would be stored for no one, or, mistyped, for the wrong one.
    """
    named = [("--customer", c.strip()) for c in draft.customers if c.strip()]
    named += [("--for", key) for key, _ in draft.for_detail]
    for option, key in named:
        config.require_audience(key, option)
    check_span_audiences(draft.message, config)
    refuse_mistyped_audience_markers(draft.title or "", config, "--title")
    if draft.title and gate.audience_ids(draft.title, "--title"):
        raise InputError("--title cannot hold [for ID] spans: every reader sees the title. Put audience detail in "
                         "the message or --for; nothing was stored or sent.")
    for key, text in draft.for_detail:
        if not text.strip():
            raise InputError(f"--for {key} is empty: give the detail for that customer. Nothing was stored or sent.")


def check_span_audiences(text: str, config: Config, field: str = "the message") -> None:
    """Each ``[for ID]`` span of ``text`` must name a configured audience (``InputError`` with the closest one),
    and ``text`` may hold no configured secret (``refuse_secrets``).

    Every text that may hold spans comes here: an update's message, a correction, a postmortem.
    """
    for key in gate.audience_ids(text, field):
        config.require_audience(key, f"a [for ID] span of {field}")
    refuse_mistyped_audience_markers(text, config, field)
    refuse_secrets([(field, text)], config)


def refuse_secrets(texts: Iterable[tuple[str, str]], config: Config) -> None:
    """No text of an update ((field, text) pairs) may hold a configured secret (``Config.named_secrets``): a
    customer's feed token (its private page's address), a channel's token, a password.

    Every text, a staff-only one too: what an update holds goes, as written, to its readers' chats and pages (a
    ``[for ID]`` span to that customer, ``--private`` to every staff channel), into the store and its exports,
    where nothing masks it as errors and logs are masked (``redaction``). Refused by the secret's name, never
    its value, which would be printed again.
    """
    from broadcaster.registry import secret_parts_of  # the channels' modules: only once there is text to check

    named = config.named_secrets(parts_of=secret_parts_of)
    if not named:
        return
    for option, text in texts:
        where = redaction.held_secret(text, named) if text else None
        if where is None:
            continue
        page = (" It is that customer's private page address: whoever has it reads that customer's page. Point "
                "readers to the status page instead." if where.startswith("audiences.") else "")
        raise InputError(f"{option} holds the value of {where}, a configured secret: whoever reads the update could "
                         f"use it.{page} Take it out and run the command again; nothing was stored or sent.")


def _texts(draft: Draft) -> list[tuple[str, str]]:
    """Every text of a draft that an update keeps, with the option it came from."""
    texts = [("the message", draft.message), ("--title", draft.title or ""), ("--private", draft.private)]
    texts += [("--ticket", t) for t in draft.tickets] + [(f"--for {key}", text) for key, text in draft.for_detail]
    return texts


def refuse_mistyped_audience_markers(text: str, config: Config, field: str) -> None:
    """A "[fro acme]...[/fro]" is refused like a "[privte]": read as prose, it would publish that customer's
    detail to everyone. Only a slip of "for" before a configured audience's id or name counts."""
    named = [*config.audience_tables, *(t.audience.name for t in config.audience_tables.values())]
    everyday = [key for key, t in config.audience_tables.items() if t.audience.id_is_a_word]
    found = gate.mistyped_audience_marker(text, named, everyday=everyday)
    if found is not None:
        offset, snippet = found
        raise InputError(
            f"{field} holds {snippet!r} at character {offset + 1}, which looks like an audience marker but is not "
            "one. Write [for ID]...[/for] exactly, or reword it (a customer's id that is an everyday word, as in "
            "'(delta: +40 ms)': set id_is_a_word = true in its [audiences.ID] table); nothing was stored or sent."
        )


def build(draft: Draft, existing: Incident | None, config: Config, now: datetime) -> tuple[Incident, Update]:
    """The incident as it will be after this update, and the update (sequence 0: the store numbers it)."""
    draft = admit(draft)
    check_audiences(draft, config)
    refuse_secrets(_texts(draft), config)
    validate_message(draft.message)
    if existing is None and draft.reopen:
        raise InputError(
            "--reopen applies to an existing incident (with --incident ID); a new incident has nothing to "
            "reopen. Drop --reopen, or name the incident; nothing was stored or sent."
        )
    zone = config.page.zone
    impact = Impact(choose(draft.impact, [i.value for i in Impact], "impact")) if draft.impact else None
    if existing is None:
        incident, status = _new_incident(draft, config, now, impact)
    else:
        incident, status = existing, _next_status(draft, existing)
        check_transition(existing, status, draft.reopen)
    _refuse_a_promise_on_closing(draft, incident, status)
    default_status = _DEFAULT_COMPONENT_STATUS[impact or incident.impact]
    if incident.kind == "maintenance":
        default_status = maintenance_component_status(status)
    # "API still down" with a bare -C api must not lower what was reported (the default follows the impact);
    # an impact given anew is the operator's new reading of every bare id.
    so_far = {} if impact else {c.id: c.status for c in incident.components}
    reported = parse_components(draft.components, config, default_status, so_far)
    if incident.kind == "maintenance":
        _refuse_outage_in_window(draft.components, reported)
    components = merge_components(incident.components, reported, status.is_closed)
    if incident.kind == "maintenance" and not status.is_closed:
        # Components are under maintenance exactly while the window runs.
        components = tuple(AffectedComponent(c.id, maintenance_component_status(status)) for c in components)
    if draft.title and draft.title.strip():
        title, raw_title = _titles(draft.title)
        if existing is not None:
            refuse_a_retitle_hiding_the_id(existing.id, title, raw_title)
        incident = replace(incident, title=title, raw_title=raw_title)
    incident = replace(
        incident,
        impact=impact or incident.impact,
        status=status,
        components=components,
        resolved_at=now if status.is_closed else None,
    )
    update = Update(
        incident_id=incident.id,
        sequence=0,
        created_at=now,
        status=status,
        raw_message=draft.message.strip(),
        components=reported,
        private_note=draft.private.strip(),
        audiences=tuple(dict.fromkeys(c.strip() for c in draft.customers if c.strip())),
        audience_detail=tuple((key, text.strip()) for key, text in draft.for_detail),
        tickets=tuple(t.strip() for t in draft.tickets if t.strip()),
        etr=future_time(draft.etr, now, zone, "--etr"),
        next_update_by=future_time(draft.next_update, now, zone, "--next-update"),
        author=author_name(config),
        kind=draft.kind,
        extra=_with_window_step(draft.extra, existing, status),
    )
    return incident, update


def _refuse_a_promise_on_closing(draft: Draft, incident: Incident, status: Status) -> None:
    """An update that closes the incident promises nothing more: "Next update by 04:20" under "Resolved" is a promise
    nobody keeps, and no one is told it lapsed (the overdue notice looks at open incidents only); an --etr of what is
    restored says nothing true either."""
    if not status.is_closed:
        return
    why = {"--next-update": "no update comes after it", "--etr": "nothing is left to restore"}
    given = [option for option, value in (("--next-update", draft.next_update), ("--etr", draft.etr)) if value]
    if given:
        closes = "completes the window" if incident.kind == "maintenance" else "resolves the incident"
        raise InputError(
            f"{' and '.join(given)} on an update that {closes} (status {status.value}): "
            f"{' and '.join(why[option] for option in given)}, so readers would be promised what never comes. "
            f"Leave {' and '.join(given)} out, or post with an open status. Nothing was stored or sent.")


def _refuse_outage_in_window(entries: Sequence[str], reported: Sequence[AffectedComponent]) -> None:
    """A window's components are under maintenance while it runs and operational after: an outage reported on one
    (``-C api=major_outage``) was overwritten on the page, the badges and the JSON, and the window's end announced
    everything operational. An outage is an incident of its own, which the page shows beside the window."""
    explicit = {entry.partition("=")[0].strip() for entry in entries if entry.partition("=")[2].strip()}
    outages = [c for c in reported if c.id in explicit
               and c.status not in (ComponentStatus.UNDER_MAINTENANCE, ComponentStatus.OPERATIONAL)]
    if outages:
        said = ", ".join(f"{c.id}={c.status.value}" for c in outages)
        raise InputError(
            f"a maintenance window's components are under maintenance while it runs, so {said} would not show. "
            f'Report the outage as an incident: broadcaster post --title "..." -C {outages[0].id}='
            f"{outages[0].status.value} \"...\". Nothing was stored or sent."
        )


def _with_window_step(extra: dict[str, str], existing: Incident | None, status: Status) -> dict[str, str]:
    """``extra``, marking the update that completes a maintenance window as a completion unless it says it
    cancels it (``maintenance cancel``): readers are told which it was, whenever it happened."""
    closes = (existing is not None and existing.kind == "maintenance" and status == Status.COMPLETED
              and not existing.status.is_closed)
    return {WINDOW_STEP: COMPLETED_STEP, **extra} if closes else dict(extra)


# How far in the past a promised time may lie and still be taken: the clocks of the operator's
# machine and of whoever reads the promise differ a little. More is a mistake, and an incident
# overdue the moment it is posted.
CLOCK_SKEW = timedelta(minutes=1)


def future_time(text: str | None, now: datetime, zone: ZoneInfo, option: str) -> datetime | None:
    """``--etr``/``--next-update``: a time to come (within ``CLOCK_SKEW``), or an ``InputError``."""
    if not text:
        return None
    when = parse_time(text, now=now, zone=zone, option=option)
    if when <= now and is_duration(text):  # "0m": due the moment it is posted, overdue at once
        raise InputError(f"{option} {text!r} is now, not a time to come; give e.g. 30m or 2h. Nothing was stored or sent.")
    if when < now - CLOCK_SKEW:
        raise InputError(f"{option} {text!r} is in the past ({when:%Y-%m-%d %H:%M} UTC); give a time to come, "
                         "e.g. 30m or 2h. Nothing was stored or sent.")
    return when


def _new_incident(draft: Draft, config: Config, now: datetime, impact: Impact | None) -> tuple[Incident, Status]:
    if not draft.title or not draft.title.strip():
        raise InputError(
            "a new incident needs --title. To post to an existing one, pass --incident ID "
            "(see `broadcaster list`)."
        )
    lifecycle = _lifecycle(draft.incident_kind)
    status = (
        Status(choose(draft.status, [s.value for s in lifecycle], "status")) if draft.status else lifecycle[0]
    )
    title, raw_title = _titles(draft.title)
    incident = Incident(
        id=slug_id(title, now),
        title=title,
        raw_title=raw_title,
        impact=impact or (Impact.NONE if draft.incident_kind == "maintenance" else Impact.MINOR),
        status=status,
        created_at=now,
        kind=draft.incident_kind,
        scheduled_start=draft.scheduled_start,
        scheduled_end=draft.scheduled_end,
    )
    return incident, status


def _next_status(draft: Draft, existing: Incident) -> Status:
    if not draft.status:
        return existing.status if not existing.status.is_closed else _lifecycle(existing.kind)[0]
    allowed = [s.value for s in _lifecycle(existing.kind)]
    given = _spelt_alike(draft.status)
    if given not in allowed and given in {s.value for s in Status}:  # the other kind's (`resolve` of a window)
        window = existing.kind == "maintenance"
        ending = window and Status(given).is_closed and not existing.status.is_closed
        end = (f" To end it: `broadcaster maintenance complete {existing.id}` (or `maintenance cancel` before it "
               "starts)." if ending else "")
        raise InputError(f"{existing.id} is {'a maintenance window' if window else 'an incident'}, so it has no status "
                         f"{draft.status!r}: its statuses are {', '.join(allowed)}.{end} Nothing was stored or sent.")
    return Status(choose(draft.status, allowed, "status"))


def _titles(raw: str) -> tuple[str, str]:
    """``title`` (public: the page, the feeds, the id) and ``raw_title`` (as written, only if it has private spans)."""
    raw = raw.strip()
    return public_title(raw), raw if gate.MARKER.search(raw) else ""


def refuse_a_retitle_hiding_the_id(incident_id: str, title: str, raw_title: str) -> None:
    """Refuse a new title (``post -i ID --title``) whose private span holds a word of the incident's id that its
    public title lacks: an incident keeps its id, made from its first title, and that word is already in the page's
    address, every feed's link and every post that linked it. A word tells something when it has 4 characters or
    more or a digit ("Frankfurt", "7741"; not "for"), or when the id holds all of the span's words in a row (what
    ``store import`` refuses, so an export of what this allows always imports)."""
    if not raw_title:
        return
    in_id = _id_title_words(incident_id)
    in_public = set(_words(title))
    for piece, private in gate.split(raw_title, "--title"):
        hidden = [w for w in _words(piece) if w not in in_public] if private else []
        shown = [w for w in hidden if _telling(w) and _in_id(w, in_id)]
        if not shown and hidden and any(in_id[i:i + len(hidden)] == hidden for i in range(len(in_id))):
            shown = hidden
        if shown:
            raise InputError(
                f"--title puts {', '.join(repr(w) for w in dict.fromkeys(shown))} in a private span, but the "
                f"incident's address already shows it: its id {incident_id!r} was made from its first title, and the "
                "page, every feed's link and the posts that linked it carry it. A new title cannot take it back. "
                "Nothing was stored or sent. Leave that word public in the title, or, to hide it, withdraw the "
                f"incident (`broadcaster withdraw {incident_id}`) and post it again under a new title that leaves "
                "the word out of its public part."
            )


# What slug_id puts after the title's words: the day, then "-2"... when the id was taken, or an unspelt id's tail.
_ID_TAIL = lazy_re.compile(r"-[0-9]{4}-[0-9]{2}-[0-9]{2}(?:-[0-9a-z]+)?$")


def _id_title_words(incident_id: str) -> list[str]:
    """The words of an id that ``slug_id`` took from a title: none for an unspelt id (``incident-2026-12-01-3f9a1c``)
    or the "incident" of a title without letters it could spell."""
    words = _words(_ID_TAIL.sub("", incident_id))
    return [] if words in (["incident"], ["maintenance"]) else words


def _words(text: str) -> list[str]:
    """Words as ``slug_id`` makes them: "Störung FRA-2" gives storung, fra, 2."""
    return re.findall(r"[a-z0-9]+", gate.without_accents(text).lower())


def _telling(word: str) -> bool:
    return len(word) >= 4 or any(c.isdigit() for c in word)


def _in_id(word: str, in_id: list[str]) -> bool:
    """Whether the address shows ``word``: one of its words, or begun by its last when slug_id cut the title's words
    at 32 characters ("frankfurtairp" of "frankfurtairport")."""
    if word in in_id:
        return True
    cut = len("-".join(in_id)) >= _SLUG_WORDS - 1
    return cut and bool(in_id) and len(in_id[-1]) >= 4 and word.startswith(in_id[-1])
