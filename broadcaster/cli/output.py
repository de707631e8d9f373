"""Everything the CLI prints: live progress, summaries, tables, JSON. Uses rich on a terminal.

The one module outside the commands themselves that writes to the terminal: the
operations return data, and this turns it into lines. User text is never read as
rich markup. What a server answered may echo a credential, so every text that
came back from one is redacted here before it is shown.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from broadcaster.cli import records
from broadcaster.cli.plain import print_json
from broadcaster.config import SITE_DESTINATION, Config
from broadcaster.delivery import CheckResult, DeliveryState
from broadcaster.engine import Outcome
from broadcaster.errors import bounded, printable
from broadcaster.messages.model import Visibility, in_force
from broadcaster.messages.preview import plain_when
from broadcaster.messages.visibility import corrected_sequence, full_title, repeated_options
from broadcaster.redaction import redact, stored_text
from broadcaster.store import Delivery
from broadcaster.times import format_time

if TYPE_CHECKING:  # loaded where they are drawn: a dry run, or a post to a pipe, draws no table (about 5 ms of start-up)
    from rich.table import Table

    # What other commands print: a post does not load them (``broadcaster.operations`` loads each module when used).
    from broadcaster.operations import PostResult, Preview, RetryResult, SitePublication
    from broadcaster.operations.listing import IncidentRecord, IncidentSummary

STATE_STYLE: dict[str, tuple[str, str]] = {
    DeliveryState.SENT: ("✓", "green"),
    DeliveryState.FAILED: ("✗", "red"),
    DeliveryState.SKIPPED: ("–", "dim"),
    DeliveryState.PENDING: ("…", "yellow"),
    DeliveryState.SENDING: ("…", "yellow"),
    DeliveryState.UNKNOWN: ("?", "magenta"),
}


class _Console(Console):
    """rich's console, but a reader gone away (`show ID | grep -q`) ends the command as a shell tool does (141,
    the CLI's BrokenPipeError handling), not with rich's own exit 1, which reads as an unexpected error."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def console(stderr: bool = False) -> Console:
    out = _Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = 200  # a pipe or a file: keep rows whole rather than wrap at 80 columns
    return out


class TerminalProgress:
    """One line per destination that shows it working, then done or failed with the reason.

    A destination with many targets (a Telegram channel with hundreds of chats)
    shows a bar with counts instead of one line per chat.
    """

    def __init__(self, out: Console, deliveries: Sequence[tuple[str, str]]) -> None:
        self.out = out
        self.targets: dict[str, list[str]] = defaultdict(list)
        for destination, target in deliveries:
            self.targets[destination].append(target)
        self.state: dict[tuple[str, str], str] = {}
        self.detail: dict[str, str] = {}
        from rich.live import Live

        self.live = Live(self._table(), console=out, refresh_per_second=8, transient=False)

    def __enter__(self) -> TerminalProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._table())
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def started(self, delivery: Delivery) -> None:
        self.state[(delivery.destination, delivery.target)] = DeliveryState.SENDING
        self.live.update(self._table())

    def retrying(self, delivery: Delivery, attempt: int, error: str, wait: float) -> None:
        self.detail[delivery.destination] = f"attempt {attempt} failed ({_short(error)}); retrying in {wait:.1f}s"
        self.live.update(self._table())

    def finished(self, outcome: Outcome) -> None:
        self.state[(outcome.destination, outcome.target)] = outcome.state
        if outcome.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN):
            self.detail[outcome.destination] = _short(outcome.error or "")
        elif outcome.destination in self.detail and outcome.state == DeliveryState.SENT and len(self.targets[outcome.destination]) == 1:
            self.detail.pop(outcome.destination)
        self.live.update(self._table())

    def _table(self) -> Table:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for destination, targets in self.targets.items():
            states = [self.state.get((destination, t), DeliveryState.PENDING) for t in targets]
            table.add_row(*self._row(destination, states))
        return table

    def _row(self, destination: str, states: list[str]) -> tuple[Text, Text, Text]:
        done = sum(s in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.UNKNOWN, DeliveryState.SKIPPED) for s in states)
        failed = states.count(DeliveryState.FAILED)
        if done < len(states):
            mark, style, label = "⠿", "yellow", "sending"
        elif failed:
            mark, style, label = "✗", "red", "failed"
        elif DeliveryState.UNKNOWN in states:
            mark, style, label = "?", "magenta", "unknown"
        else:
            mark, style, label = "✓", "green", "sent"
        if len(states) > 1:
            filled = int(20 * done / len(states))
            label = f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{len(states)}" + (f", {failed} failed" if failed else "")
        return Text(mark, style=style), Text(destination, style="bold"), Text(f"{label}  {self.detail.get(destination, '')}".rstrip())


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(printable(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def outcome_lines(outcomes: Sequence[Outcome], *, named: bool = False) -> list[Text]:
    """One line per outcome; ``named``: each says its incident and update (a retry of several incidents)."""
    lines = []
    for outcome in outcomes:
        mark, style = STATE_STYLE.get(outcome.state, ("?", ""))
        where = outcome.destination + (f" → {outcome.target}" if outcome.target else "")
        line = Text(f"  {mark} ", style=style)
        if named:
            line.append(f"{outcome.incident_id} #{outcome.sequence} ")
        line.append(f"{where:<28}", style="bold")
        line.append(f" {outcome.state:<8}", style=style)
        if outcome.state == DeliveryState.SENT and outcome.remote_id:
            # A server made it: a megabyte of "id" is cut on the line as an error is (it stays whole in the store).
            line.append(f" {bounded(printable(outcome.remote_id, one_line=True))}", style="dim")
        if outcome.error or outcome.reason:
            line.append(f" {printable(outcome.error or outcome.reason or '', one_line=True)}")
        for note in outcome.notes:
            line.append(f"  (note: {printable(note, one_line=True)})", style="yellow")
        lines.append(line)
    return lines


def print_outcomes(out: Console, heading: str | Text, outcomes: Sequence[Outcome], incident_id: str | None) -> None:
    """One line per outcome, then what to run for the ones not sent. User text is never read as markup."""
    out.print(heading if isinstance(heading, Text) else Text(heading))
    for line in outcome_lines(outcomes, named=len({o.incident_id for o in outcomes}) > 1):
        out.print(line)
    # `show` needs an incident: with no single one given, the one not sent, or each, as the lines above name them.
    stuck = sorted({o.incident_id for o in outcomes if o.state != DeliveryState.SENT})
    where = f" {incident_id}" if incident_id else (f" {stuck[0]}" if len(stuck) == 1 else "")
    failed = [o for o in outcomes if o.state in (DeliveryState.FAILED, DeliveryState.PENDING, DeliveryState.SENDING)]
    unknown = [o for o in outcomes if o.state == DeliveryState.UNKNOWN]
    if failed:
        # Not "resend with retry" alone: a failure that needs something done first (a token, a place restored
        # over) fails again the same way; each line says what.
        # A withdrawal's delete that only the old account could do is never sent by a retry: its line names what
        # records it once done by hand (``advice.delete_by_hand_then_mark``).
        by_hand = " (a delete to do by hand: `--mark-deleted` records it, as its line says)" if any(
            "--mark-deleted" in (o.error or "") for o in failed) else ""
        out.print(Text(f"{deliveries(len(failed))} not sent.", style="red") + Text(
            f" Each line above says why; once that is seen to, `broadcaster retry{where}` sends them{by_hand}"
            f" (`broadcaster show{where or ' ID'}` has the detail)."))
    if unknown:
        out.print(Text(f"{deliveries(len(unknown))} unknown", style="magenta") + Text(
            ": the request may have arrived. Check each one, then `broadcaster retry"
            f"{where} --mark-unknown-sent` (it is there) or `--include-unknown` (it is not)."))


def unknown_line(delivery: Delivery, *, withdrawn: bool = False) -> Text:
    """A delivery whose fate is unknown, and what to run for it (never a resend once its incident is withdrawn)."""
    where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
    line = Text("? ", style="magenta")
    if withdrawn:
        line.append(printable(f"{delivery.incident_id} #{delivery.sequence} → {where}: {bounded(printable(stored_text(delivery.last_error or ''), one_line=True))}.",
                              one_line=True))
        return line
    if delivery.parts:  # "the post is there" would be true of part 1 alone, and settle the rest unsent
        line.append(
            f"{delivery.incident_id} #{delivery.sequence} → {where}: PARTLY POSTED: {len(delivery.parts)} part(s) "
            f"confirmed (the first: {bounded(printable(delivery.parts[0], one_line=True))}); whether the next one arrived is unknown. Check {where}: "
            f"`broadcaster retry {delivery.incident_id} --include-unknown` sends the parts after the confirmed ones "
            f"(the next may then show twice); `--mark-unknown-sent` only if the whole update is there."
        )
        return line
    line.append(
        f"{delivery.incident_id} #{delivery.sequence} → {where}: unknown (the request may have reached it, but no "
        f"answer came back). Check {where}: if the post is there, `broadcaster retry {delivery.incident_id} "
        f"--mark-unknown-sent`; if not, `broadcaster retry {delivery.incident_id} --include-unknown`."
    )
    return line


# Public in cyan; one customer's in yellow; internal (and anything unknown) in red, upper-cased.
_VISIBILITY_STYLE = {"public": "cyan", "audience": "yellow"}


def deliveries(count: int) -> str:
    """ "1 delivery", "3 deliveries": what the summary lines count."""
    return f"{count} delivery" if count == 1 else f"{count} deliveries"


def print_previews(out: Console, previews: Sequence[Preview]) -> None:
    for preview in previews:
        label = f"{preview.destination}" + (f" → {preview.target}" if preview.target else "")
        style = _VISIBILITY_STYLE.get(preview.visibility.partition(":")[0], "red")
        tag = f"[{style}]{escape(preview.visibility.upper() if style == 'red' else preview.visibility)}[/{style}]"
        if preview.deletes:
            # Ids a server made, as stored: rich's ``escape`` is for its markup only, ``printable`` keeps an
            # ESC sequence in one from clearing the screen the operator reads before confirming, and (one
            # line) a line break in one from drawing a preview line of its own ("── site (PUBLIC) ...").
            # Each cut as a delivery's id is on its line: a row an earlier version stored may hold a megabyte of one.
            ids = ", ".join(bounded(printable(remote_id, one_line=True)) for remote_id in preview.deletes)
            out.print(f"── {escape(label)} ({tag}) deletes its {len(preview.deletes)} post(s) there: {escape(ids)}")
        if preview.deletes is not None:
            if preview.reason or not preview.deletes:
                reason = printable(preview.reason or "no post of it known there to delete", one_line=True)
                out.print(f"── {escape(label)} ({tag}) {escape(reason)}")
            continue
        if preview.rendered is None and not preview.refused:
            # Failed: held back (a chat name to resolve) or left for another member's config; `retry` sends it.
            verb = "held" if preview.state == DeliveryState.FAILED else "skipped"
            out.print(f"── {escape(label)} ({tag}) {verb}: {escape(printable(preview.reason, one_line=True))}")
            continue
        # An audience's rendering is marked with its audience: "(audience:acme)".
        out.rule(Text(f"{label} ({preview.visibility})"), align="left", style=style)
        if preview.refused or preview.rendered is None:
            # Not shown as if fine: this is what the egress guard would stop, and it would send nothing.
            out.print(Text(f"REFUSED: {preview.refused}", style="bold red"))
            continue
        if preview.posted_anew:  # the rendering below is that new post's, as the incident stands
            out.print(Text(f"A new post, not an edit of the original: {printable(preview.posted_anew, one_line=True)}",
                           style="bold magenta"))
        for index, part in enumerate(preview.rendered.messages, 1):
            if len(preview.rendered.messages) > 1:
                out.print(f"[dim]-- message {index} of {len(preview.rendered.messages)} --[/dim]")
            out.print(Text(part))
        if preview.rendered.payload:
            out.print(Text(json.dumps(_printable(preview.rendered.payload), indent=2, ensure_ascii=False), style="dim"))


def _refused_first(out: Console, previews: Sequence[Preview]) -> list[Preview]:
    """Of a publication refused at its preview, what was refused alone: the renderings that would have gone (a
    Slack payload is a screenful each) would push the reason off the operator's screen, mid-outage."""
    refused = [p for p in previews if p.refused]
    fine = sorted({p.destination for p in previews if p.rendered is not None and not p.refused})
    if fine:
        out.print(f"Not shown: what {', '.join(fine)} would have sent (`--dry-run` shows it all).", markup=False)
    return refused


def _printable(payload: Any) -> Any:
    try:
        json.dumps(payload)
        return payload
    except TypeError:
        return {k: str(v) for k, v in dict(payload).items()}


class progress_for:
    """Live progress on a terminal; nothing (a clean result at the end) otherwise."""

    def __init__(self, out: Console, targets: Sequence[tuple[str, str]], as_json: bool) -> None:
        self.live = TerminalProgress(out, targets) if not as_json and out.is_terminal and targets else None

    def __enter__(self) -> TerminalProgress | None:
        return self.live.__enter__() if self.live else None

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.__exit__(*exc)


# -- post, resolve, preview and the other publishing commands ---------------------------------


def print_post_result(out: Console, result: PostResult, as_json: bool, config: Config, *, asked: bool = True) -> None:
    """``asked``: False for a publication refused at its preview (the operator did not ask for a dry run)."""
    from broadcaster.site.links import incident_url

    if as_json:
        print_json(records.post_result_json(result, asked=asked))
        return
    if result.dry_run:
        out.print(Text("Dry run" if asked else "Refused", style="bold") + Text(
            f": {result.incident.id} #{result.update.sequence} ({result.update.status.value}); nothing stored or sent."))
        print_previews(out, result.previews if asked else _refused_first(out, result.previews))
        _print_left_up(out, result)
        for note in result.notes:
            out.print(note, markup=False)
        print_elsewhere(out, result)
        return
    done = "withdrawn" if result.update.kind == "withdrawal" else f"({result.update.status.value}) stored"
    heading = Text(result.incident.id, style="bold") + Text(f" #{result.update.sequence} {done}.")
    url = incident_url(config, result.incident.id)
    if url:
        heading.append(f" {url}")
    print_outcomes(out, heading, result.outcomes, result.incident.id)
    _print_notices(out, result)
    for delivery in getattr(result, "in_doubt", ()):
        out.print(unknown_line(delivery, withdrawn=True))
    if any(o.destination == SITE_DESTINATION and o.state == DeliveryState.SENT for o in result.outcomes):
        out.print(f"Page: {printable(str(config.output_dir / 'index.html'))}", markup=False)
    for note in result.notes:
        out.print(note, markup=False)
    print_elsewhere(out, result)


ELSEWHERE_SHOWN = 10


def print_elsewhere(out: Console, result: PostResult) -> None:
    """Team mode: where the incident's earlier updates went that this machine's config does not have."""
    if not result.elsewhere:
        return
    shown = [f"{name}{' ' + target if target else ''} ({readers})" for name, target, readers in result.elsewhere]
    # A bot's thousands of chats are one line each in --json; here, the first few and how many more.
    places = ", ".join(shown[:ELSEWHERE_SHOWN]) + (
        f" and {len(shown) - ELSEWHERE_SHOWN} more (`--json` lists them)" if len(shown) > ELSEWHERE_SHOWN else "")
    names = ",".join(dict.fromkeys(name for name, _, _ in result.elsewhere))
    if result.update.kind == "withdrawal":  # a withdrawn incident takes no more posts
        out.print(Text(printable(
            f"Not told of the withdrawal: {places}: this incident's earlier updates went there, and this machine's "
            "config has no such destination, or has it for other readers (team mode: another member's config has "
            "it). Tell them by hand; a withdrawn incident takes no more posts.", one_line=True), style="bold magenta"))
        return
    corrects = corrected_sequence(result.update)
    if corrects is not None:  # the same correction there, not a new update (review 28f)
        went, command = (f"update #{corrects}, which this corrects, went there",
                         f"broadcaster amend {result.incident.id} {corrects} --only {names} \"...\"")
    else:
        status = result.incident.status
        # A closed incident takes a post only as a reopening that closes it again (``compose.check_transition``).
        again = f"--reopen -s {status.value} " if status.is_closed else ""
        went, command = ("this incident's earlier updates went there",
                         f"broadcaster post -i {result.incident.id} {again}--only {names}"
                         f"{''.join(f' {w}' for w in repeated_options(result.update, {r for _, _, r in result.elsewhere}))} \"...\"")
    out.print(Text(printable(
        f"Not sent to {places}: {went}, and this machine's config has no such destination, or has it for other "
        "readers (team mode: another member's config has it). Nothing sends it there by itself: run it from a "
        f"machine whose config has it, with this update's texts in place of each \"...\" (`{command}`), or bring this "
        "config up to date.", one_line=True), style="bold magenta"))


LEFT_UP_HEADING = "Left up: {count} post(s) the withdrawal will not delete, each to see to by hand (it exits 3 to say so):"


def _print_left_up(out: Console, result: PostResult) -> None:
    """A withdrawal's dry run: the posts the real run will leave up, each with why and what to do (it then exits 3)."""
    left = getattr(result, "in_doubt", ())
    if left:
        out.print(Text(LEFT_UP_HEADING.format(count=len(left)), style="bold magenta"))
    for delivery in left:
        out.print(unknown_line(delivery, withdrawn=True))


def _print_notices(out: Console, result: PostResult) -> None:
    """Each notice the update raised (an SLA breach), sent or not, as the update's own deliveries are printed:
    a notice that failed makes the command exit 3, and the summary must say which and what to run."""
    from broadcaster.notices import notice_label  # here: only a post that raised a notice needs it

    raised = {(n.incident_id, n.sequence): n for n in result.raised}
    for key in dict.fromkeys((o.incident_id, o.sequence) for o in result.notices):
        what = notice_label(raised[key]) if key in raised else "notice"
        heading = Text("Notice", style="bold") + Text(f" ({what}) raised by this update: {key[0]} #{key[1]}")
        # Not the public destinations' "skipped: internal notice" lines: a notice never goes there.
        mine = [o for o in result.notices if (o.incident_id, o.sequence) == key and o.state != DeliveryState.SKIPPED]
        if not mine:
            heading.append(": no destination takes it")
        print_outcomes(out, heading, mine, key[0])


def print_confirmation(out: Console, result: PostResult, destinations: dict[str, Any]) -> None:
    """Shown before asking: the incident acted on, what changes, what the public will read, and where it goes."""
    out.rule("Incident", align="left")
    for line in confirmation_summary(result):
        out.print(line, markup=False)
    going = [p for p in previews_of(result) if p.rendered or p.refused]
    public = (next((p for p in going if p.visibility == "public" and p.destination != SITE_DESTINATION), None)
              or next((p for p in going if p.visibility == "public"), None))  # the page alone: still the public's
    out.rule("What the public will read", align="left")
    if result.update.kind == "withdrawal":
        out.print("Nothing new: the incident leaves the page, the feeds and the JSON.", markup=False)
        shown = None
    elif public is None:
        # Never another reader's rendering under this heading: copied into a public reply, it would publish it.
        out.print("Nothing: neither the page nor any public channel takes this update.", markup=False)
        shown = next(iter(going), None)
        if shown is not None:
            out.rule(f"What {shown.destination} ({shown.visibility}) will read", align="left")
    else:
        shown = public
    if shown is not None and shown.refused:
        out.print(f"REFUSED: {shown.refused}", markup=False, style="bold red")
    elif shown is not None and shown.rendered:
        out.print(shown.rendered.text, markup=False)
    out.rule("Destinations", align="left")
    for line in destination_lines(result, destinations):
        out.print(line, markup=False)


def confirmation_summary(result: PostResult) -> list[str]:
    """Which incident, under which title (and whether it has a private part), and what this update changes."""
    incident, before, update = result.incident, result.before, result.update
    private = " (its title has a private part, shown only on private channels)" if full_title(incident) != incident.title else ""
    lines = [f"{'New incident' if result.new else 'Incident'} {incident.id}: {incident.title}{private}"]
    if update.kind == "withdrawal":
        lines.append(f"WITHDRAW it (now {incident.status.value}): off the page, feeds and JSON; see each destination below.")
        return lines
    if update.kind == "correction":
        lines.append(f"Correction of update #{update.extra.get('corrects', '?')}: edited in place where the medium "
                     "can edit, a correction reply where it cannot.")
    elif update.kind == "postmortem":
        lines.append("Postmortem of the resolved incident: a section on its page, a feed entry, a link on the channels.")
    if before and (before.title, full_title(before)) != (incident.title, full_title(incident)):
        lines.append(f"Title: {before.title} → {incident.title}" if before.title != incident.title
                     else "Title: its private part changes (the public title stays)")
    old_status = before.status.value if before else "new"
    lines.append(f"Status: {old_status} → {update.status.value}" if not before or before.status != update.status
                 else f"Status: {update.status.value} (unchanged)")
    if incident.scheduled_start and (result.new or not before or (before.scheduled_start, before.scheduled_end)
                                     != (incident.scheduled_start, incident.scheduled_end)):
        lines.append(f"Window: {plain_when(incident.scheduled_start)}"
                     + (f" → {plain_when(incident.scheduled_end)}" if incident.scheduled_end else ""))
    if before and before.impact != incident.impact:
        lines.append(f"Impact: {before.impact.value} → {incident.impact.value}")
    elif result.new:
        lines.append(f"Impact: {incident.impact.value}")
    was = {c.id: c.status.value for c in before.components} if before else {}
    for component in incident.components:
        if was.get(component.id) != component.status.value:
            lines.append(f"Component {component.id}: {was.get(component.id, 'not affected')} → {component.status.value}")
    return lines


def previews_of(result: PostResult) -> list[Preview]:
    return [p for p in result.previews if p.state == DeliveryState.PENDING]


def destination_lines(result: PostResult, destinations: dict[str, Any]) -> list[str]:
    """Each destination with its visibility and chat count; for a withdrawal, what happens there."""
    counts: dict[tuple[str, str], int] = {}
    for entry in previews_of(result):
        counts[(entry.destination, entry.visibility)] = counts.get((entry.destination, entry.visibility), 0) + 1
    refused = {p.destination for p in result.previews if p.refused}
    withdrawal = result.update.kind == "withdrawal"
    left: Sequence[Delivery] = getattr(result, "in_doubt", ())
    lines = []
    for (name, visibility), count in counts.items():
        chats = f" ({count} chats)" if count > 1 else ""
        warning = " REFUSED by the egress guard: nothing will be sent there" if name in refused else ""
        here = [p for p in previews_of(result) if p.destination == name and p.visibility == visibility]
        action = _withdraw_action(destinations.get(name), visibility, here,
                                  [d for d in left if d.destination == name]) if withdrawal else _anew_action(here)
        lines.append(f"  {name} [{visibility}]{chats}{action}{warning}")
    lines += _held_lines(result)
    if withdrawal:
        lines += _withdraw_left_alone(result, left, destinations)
    if not lines:
        lines.append("  none")
    return lines


def _held_lines(result: PostResult) -> list[str]:
    """The destinations held back (a chat name the service could not resolve; ``retry`` sends them), each with why:
    the operator confirms knowing they are not told now, where the real run would otherwise fail them after "y"."""
    held: dict[tuple[str, str, str], int] = {}
    for preview in result.previews:
        if preview.state == DeliveryState.FAILED and preview.reason:
            key = (preview.destination, preview.visibility, preview.reason.removeprefix("not sent: "))
            held[key] = held.get(key, 0) + 1
    return [printable(f"  {name} [{visibility}]{f' ({count} chats)' if count > 1 else ''} held: {why}", one_line=True)
            for (name, visibility, why), count in held.items()]


def _anew_action(here: Sequence[Preview]) -> str:
    """A correction that goes to a destination as a new post, not an edit of its original: why (another account's)."""
    why = next((p.posted_anew for p in here if p.posted_anew), "")
    return printable(f": a new post, not an edit of the original: {why}", one_line=True) if why else ""


def _withdraw_action(destination: Any, visibility: str, here: Sequence[Preview], left: Sequence[Delivery]) -> str:
    """What the withdrawal does at one destination (``here``: its previews; ``left``: its posts it leaves up)."""
    if destination is None or destination.idempotent:
        return ": rebuilt without it"
    if not Visibility.parse(visibility).outside:
        return ": a note that it was withdrawn, and why (the staff's record stays)"
    if not destination.can_delete:
        return ": a short 'posted in error' follow-up (cannot delete)"
    deleted = sum(len(p.deletes or ()) for p in here)
    if left or any(p.reason for p in here):  # a post whose id came by hand or from an import, or none known
        return (f": {deleted} post(s) deleted; others left up, to delete by hand (below)" if deleted
                else ": nothing deleted: its post(s) there are left up, to delete by hand (below)")
    return f": its posts deleted ({deleted})" if deleted else ": its posts deleted once those being sent arrive"


def _withdraw_left_alone(result: PostResult, left: Sequence[Delivery], destinations: dict[str, Any]) -> list[str]:
    """What the withdrawal leaves up, said before the operator confirms: a destination skipped because its readers
    changed, each post not deleted (an id given by hand or imported), each post in doubt or out of reach."""
    from broadcaster.operations.withdrawing import readers_changed  # a withdrawal's: a post does not load it

    lines = []
    for preview in result.previews:
        label = preview.destination + (f" {preview.target}" if preview.target else "")
        if preview.state == DeliveryState.SKIPPED and readers_changed(preview.reason):
            lines.append(printable(f"  {label} [{preview.visibility}]: skipped, {preview.reason}", one_line=True))
        elif (preview.state == DeliveryState.PENDING and preview.deletes is not None and preview.reason
              and getattr(destinations.get(preview.destination), "can_delete", False)):  # not the site's "rebuilt"
            lines.append(printable(f"    {label}: {preview.reason}", one_line=True))
    if left:
        lines.append("  " + LEFT_UP_HEADING.format(count=len(left)))
    for delivery in left:
        where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
        lines.append(printable(f"    {where} (#{delivery.sequence}): {bounded(printable(stored_text(delivery.last_error or ''), one_line=True))}.", one_line=True))
    return lines


def print_marked_sent(out: Console, marked: Sequence[tuple[Delivery, str]]) -> None:
    """``retry --mark-unknown-sent``: each delivery recorded as sent, and what its follow-ups thread under."""
    for delivery, threading in marked:
        where = f"{delivery.destination} {delivery.target}".rstrip()
        done = "Settled" if delivery.state == DeliveryState.SKIPPED else "Recorded as sent"  # a withdrawn incident's
        out.print(f"{done}: {delivery.incident_id} #{delivery.sequence} → {where}; {threading}.", markup=False)


def print_marked_deleted(out: Console, marked: Sequence[tuple[Delivery, str]]) -> None:
    """``retry --mark-deleted``: each withdrawal's delete recorded done, its posts deleted by hand."""
    for delivery, note in marked:
        where = f"{delivery.destination} {delivery.target}".rstrip()
        out.print(printable(f"Deleted by hand: {delivery.incident_id} #{delivery.sequence} → {where}, {note}.",
                            one_line=True), markup=False)


def print_retry(
    out: Console, incident_id: str | None, result: RetryResult, as_json: bool,
    marked: Sequence[tuple[Delivery, str]] = (), deleted: Sequence[tuple[Delivery, str]] = (),
    not_deleted: Sequence[tuple[Delivery, str]] = (),
) -> None:
    if as_json:
        print_json(records.retry_json(incident_id, result, marked, deleted, not_deleted))
        return
    if not result.outcomes and result.elsewhere:
        out.print("Nothing to resend now: another command is still sending what is below.", markup=False)
    elif not result.outcomes and result.sending_here:
        out.print(f"Nothing to resend now: {deliveries(result.sending_here)} still being sent by another command on "
                  "this machine, whose own output says how they end; run `broadcaster retry` again once it is done.",
                  markup=False)
    elif not result.outcomes:
        left = " (but for those of unknown fate below)" if result.unknown else ""
        out.print(f"Nothing to resend: every delivery is sent or skipped{left}.", markup=False)
    else:
        sent = sum(o.state == DeliveryState.SENT for o in result.outcomes)
        print_outcomes(out, f"Tried {deliveries(len(result.outcomes))}, {sent} sent:", result.outcomes, incident_id)
    if result.sending_here and (result.outcomes or result.elsewhere):
        # Said above only where the retry had nothing else: read alone, "Tried 1 delivery, 1 sent" reads as done.
        out.print(f"Not sent here: {deliveries(result.sending_here)} still being sent by another command on this "
                  "machine, whose own output says how they end; run `broadcaster retry` again once it is done.",
                  markup=False)
    for delivery in result.unknown:
        out.print(unknown_line(delivery, withdrawn=delivery.id in result.withdrawn))
    for delivery in result.elsewhere:
        out.print(claimed_line(delivery, result.lease))
    for delivery, why in not_deleted:  # --mark-deleted: what the retry above had to delete first, and could not
        where = f"{delivery.destination} {delivery.target}".rstrip()
        out.print(printable(f"{delivery.incident_id} #{delivery.sequence} → {where}: {why}.", one_line=True),
                  markup=False)


def claimed_line(delivery: Delivery, lease: timedelta) -> Text:
    """A delivery another command is sending (its claim still trusted): not sent again, and what to do."""
    where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
    since = delivery.claimed_at
    until = f" until {format_time(since + lease)}" if since is not None else ""
    line = Text("… ", style="yellow")
    line.append(printable(
        f"{delivery.incident_id} #{delivery.sequence} → {where}: being sent by {delivery.claimed_by or 'another command'}"
        f"{' since ' + format_time(since) if since is not None else ''}, not sent again here. If that command has "
        f"died, its claim is trusted{until}; `broadcaster retry {delivery.incident_id}` after that says whether the "
        "post may have arrived.", one_line=True))
    return line


# -- list and show ----------------------------------------------------------------------------


def print_list(summaries: Sequence[IncidentSummary], *, as_json: bool) -> None:
    if as_json:
        print_json(records.list_json(list(summaries)), ensure_ascii=True)
        return
    out = console()
    if not summaries:
        out.print("No incidents yet. Post one: broadcaster post --title 'API errors' 'Investigating elevated errors.'", markup=False)
        return
    rows = [_list_row(summary) for summary in summaries]
    # Only the title wraps: rich fitted a narrow terminal by cutting every column with "…", the ids the operator
    # types after -i, resolve and withdraw among them, and a withdrawal's word. Too narrow for that, one incident
    # takes three lines.
    widths = [max(cell_len(str(cell)) for cell in column) for column in zip(_LIST_COLUMNS, *rows, strict=True)]
    title_width = out.width - sum(widths) + widths[3] - 2 * len(widths)
    if title_width < _LEAST_TITLE_WIDTH:
        from rich.padding import Padding

        for incident_id, status, impact, title, started, updates, undelivered in rows:
            out.print(Text(incident_id.plain, style="bold"))  # alone, never broken by us: a terminal joins its own wrap
            detail = Text.assemble(status, f", {impact}, started {started}, {updates} update(s), ", undelivered,
                                   " undelivered")
            out.print(Padding.indent(detail, 2), Padding.indent(title, 2), soft_wrap=False)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in _LIST_COLUMNS:
        table.add_column(column, no_wrap=column != "title", width=min(widths[3], title_width) if column == "title" else None)
    for row in rows:
        table.add_row(*row)
    out.print(table)


_LIST_COLUMNS = ("id", "status", "impact", "title", "started", "updates", "undelivered")
_LEAST_TITLE_WIDTH = 12  # "API errors on" a line: narrower, a title reads as a column of word ends


def _list_row(summary: IncidentSummary) -> tuple[Text, ...]:
    incident = summary.incident
    stands = "cancelled" if summary.cancelled else incident.status.value
    status = Text(stands, style="yellow" if incident.is_open else "green")
    if incident.withdrawn_at is not None:
        status = Text(f"{stands} withdrawn", style="dim strike")
    if summary.overdue:
        status.append(" OVERDUE", style="bold red")
    return (
        Text(incident.id), status, Text(incident.impact.value), Text(incident.title),
        Text(format_time(incident.created_at)), Text(str(summary.updates)),
        Text(str(summary.undelivered), style="red") if summary.undelivered else Text("0", style="dim"),
    )


def print_incident(config: Config, record: IncidentRecord, *, as_json: bool) -> None:
    shown = records.incident_json(record)
    if as_json:
        print_json(shown)
        return
    out, zone, incident = console(), config.page.zone, record.incident
    out.print(Text(shown["private_title"], style="bold") + Text(f"  ({incident.id})"))
    if shown["private_title"] != incident.title:
        out.print(Text(f"[private] title; the public reads: {incident.title}", style="red"))
    stands = "Cancelled" if shown.get("cancelled") else incident.status.label
    out.print(Text(f"{stands} · impact {incident.impact.value} · started {format_time(incident.created_at, zone)}"))
    if incident.kind == "maintenance" and incident.scheduled_start:  # how --start and --end were read
        end = f" to {format_time(incident.scheduled_end, zone)}" if incident.scheduled_end else ""
        out.print(Text(f"Window: {format_time(incident.scheduled_start, zone)}{end}"))
    withdrawn = shown["withdrawn"]
    if withdrawn and incident.withdrawn_at:
        by = f" by {withdrawn['by']}" if withdrawn["by"] else ""
        reason = f": {withdrawn['reason']}" if withdrawn["reason"] else ""
        out.print(Text(f"WITHDRAWN {format_time(incident.withdrawn_at, zone)}{by}{reason}", style="bold red"),
                  Text(" (off the page and feeds; takes no more posts)"))
    if incident.components:
        out.print(Text("Components: " + ", ".join(f"{c.id} ({c.status.value})" for c in incident.components)))
    current = {u.sequence for u in in_force(record.updates)}
    for update, fields in zip(record.updates, shown["updates"], strict=True):
        out.print()
        out.print(Text(f"#{update.sequence}", style="bold") + Text(
            f" {format_time(update.created_at, zone)} · {update.status.label}"
            + (f" · by {fields['author']}" if fields["author"] else "")))
        out.print(Text("  " + fields["message"]))
        if update.sequence not in current:  # numbered after the latest, it would read as the latest
            out.print(Text("  kept as history: `store import` brought it in, older than this store's latest version "
                           "of the same text, which is the one shown and sent", style="dim"))
        private_bits = _private_summary(fields)
        if private_bits:
            out.print(Text("  [private] " + private_bits, style="red"))
        if update.etr:
            out.print(Text(f"  ETR {format_time(update.etr, zone)}"))
        if update.next_update_by:
            out.print(Text(f"  Next update by {format_time(update.next_update_by, zone)}"))
    out.print()
    out.print(_deliveries_table(record.deliveries))


def _private_summary(fields: dict[str, Any]) -> str:
    """The private detail of one update (its ``show`` record), on one line."""
    parts = []
    if fields["private_message"] != fields["message"]:
        parts.append(f"full text: {fields['private_message']}")
    if fields["private_note"]:
        parts.append(fields["private_note"])
    if fields["customers"]:
        parts.append("customers: " + ", ".join(fields["customers"]))
    parts += [f"for {a['audience']}: {a['detail'] or '(named)'}" for a in fields.get("audiences", [])]
    if fields["tickets"]:
        parts.append("tickets: " + ", ".join(fields["tickets"]))
    return " · ".join(parts)


def _deliveries_table(deliveries: Sequence[Delivery]) -> Table:
    from rich.table import Table

    table = Table(title="Deliveries", box=None, header_style="bold", title_justify="left")
    for column in ("#", "destination", "target", "state", "remote id", "attempts", "error / note"):
        table.add_column(column)
    for d in deliveries:
        mark, style = STATE_STYLE.get(d.state, ("?", ""))
        table.add_row(Text(str(d.sequence)), Text(d.destination), Text(d.target or ""), Text(f"{mark} {d.state}", style=style),
                      Text(bounded(printable(d.remote_id or "", one_line=True))), Text(str(d.attempts)),
                      Text(bounded(printable(stored_text(d.last_error or ""), one_line=True))))
    return table


# -- channels check, site build and publish ------------------------------------------------------


def print_checks(results: Sequence[CheckResult], secrets: Sequence[str]) -> None:
    if not results:
        console().print("No channels or publish targets configured. See `broadcaster init` for examples.", markup=False)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("destination", "target", "", "detail"):
        table.add_column(column)
    for result in results:
        mark = Text("ok", style="green") if result.ok else Text("FAIL", style="red")
        # What a server answered may echo a credential, in any case or encoding; and be megabytes (a getMe refusal's
        # description), cut once masked and escaped, as a delivery's error is.
        detail = bounded(printable(redact(result.detail, secrets), one_line=True))
        table.add_row(Text(result.channel), Text(result.target), mark, Text(detail))
    console().print(table)


def print_site_publication(config: Config, published: SitePublication) -> None:
    out, secrets = console(), config.secret_values()  # what a storage service or git answered may echo a credential
    out.print(f"Built {len(published.built.hashes)} files into {config.output_dir}.", markup=False)
    if published.built.problems:
        print_left_out(published.built.problems, secrets)
    for upload in published.uploads:
        if upload.ok:
            out.print(Text("  ✓ ", style="green") + Text(printable(redact(f"{upload.name}: {upload.remote_id}", secrets), one_line=True)))
        else:
            # Not through the engine, which bounds what it stores: a git hook's or a bucket's answer may be megabytes.
            said = bounded(printable(redact(f"{upload.name}: {upload.error}", secrets), one_line=True))
            out.print(Text("  ✗ ", style="red") + Text(said))
    if not published.uploads:
        out.print("No [publish.NAME] targets configured: the site is only in the local folder.", markup=False)


def print_left_out(problems: Sequence[str], secrets: Sequence[str]) -> None:
    """Incidents a build left out: loud, on standard error, each with its id (and no secret)."""
    err = console(stderr=True)
    for problem in problems:
        err.print(Text("✗ " + redact(problem, secrets), style="red"))
    err.print(Text("The rest of the site was built. See `broadcaster show ID` for each record."))
