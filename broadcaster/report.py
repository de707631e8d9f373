"""Everything the CLI prints: live progress, summaries, tables. Uses rich on a terminal."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from broadcaster.engine import Outcome
from broadcaster.operations import Preview
from broadcaster.store import Delivery

STATE_STYLE = {
    "sent": ("✓", "green"),
    "failed": ("✗", "red"),
    "skipped": ("–", "dim"),
    "pending": ("…", "yellow"),
    "sending": ("…", "yellow"),
    "unknown": ("?", "magenta"),
}


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False, soft_wrap=True)
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
        self.live = Live(self._table(), console=out, refresh_per_second=8, transient=False)

    def __enter__(self) -> TerminalProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._table())
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def started(self, delivery: Delivery) -> None:
        self.state[(delivery.destination, delivery.target)] = "sending"
        self.live.update(self._table())

    def retrying(self, delivery: Delivery, attempt: int, error: str, wait: float) -> None:
        self.detail[delivery.destination] = f"attempt {attempt} failed ({_short(error)}); retrying in {wait:.1f}s"
        self.live.update(self._table())

    def finished(self, outcome: Outcome) -> None:
        self.state[(outcome.destination, outcome.target)] = outcome.state
        if outcome.state in ("failed", "unknown"):
            self.detail[outcome.destination] = _short(outcome.error or "")
        elif outcome.destination in self.detail and outcome.state == "sent" and len(self.targets[outcome.destination]) == 1:
            self.detail.pop(outcome.destination)
        self.live.update(self._table())

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        for destination, targets in self.targets.items():
            states = [self.state.get((destination, t), "pending") for t in targets]
            table.add_row(*self._row(destination, states))
        return table

    def _row(self, destination: str, states: list[str]) -> tuple[Text, Text, Text]:
        done = sum(s in ("sent", "failed", "unknown", "skipped") for s in states)
        failed = states.count("failed")
        if done < len(states):
            mark, style, label = "⠿", "yellow", "sending"
        elif failed:
            mark, style, label = "✗", "red", "failed"
        elif "unknown" in states:
            mark, style, label = "?", "magenta", "unknown"
        else:
            mark, style, label = "✓", "green", "sent"
        if len(states) > 1:
            filled = int(20 * done / len(states))
            label = f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{len(states)}" + (f", {failed} failed" if failed else "")
        return Text(mark, style=style), Text(destination, style="bold"), Text(f"{label}  {self.detail.get(destination, '')}".rstrip())


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def outcome_lines(outcomes: Sequence[Outcome]) -> list[Text]:
    lines = []
    for outcome in outcomes:
        mark, style = STATE_STYLE.get(outcome.state, ("?", ""))
        where = outcome.destination + (f" → {outcome.target}" if outcome.target else "")
        line = Text(f"  {mark} ", style=style)
        line.append(f"{where:<28}", style="bold")
        line.append(f" {outcome.state:<8}", style=style)
        if outcome.state == "sent" and outcome.remote_id:
            line.append(f" {outcome.remote_id}", style="dim")
        if outcome.error or outcome.reason:
            line.append(f" {outcome.error or outcome.reason}")
        for note in outcome.notes:
            line.append(f"  (note: {note})", style="yellow")
        lines.append(line)
    return lines


def print_outcomes(out: Console, heading: str | Text, outcomes: Sequence[Outcome], incident_id: str | None) -> None:
    """One line per outcome, then what to run for the ones not sent. User text is never read as markup."""
    out.print(heading if isinstance(heading, Text) else Text(heading))
    for line in outcome_lines(outcomes):
        out.print(line)
    where = f" {incident_id}" if incident_id else ""
    failed = [o for o in outcomes if o.state in ("failed", "pending", "sending")]
    unknown = [o for o in outcomes if o.state == "unknown"]
    if failed:
        out.print(Text(f"{len(failed)} delivery(ies) not sent.", style="red") + Text(
            f" See `broadcaster show{where}`; resend with `broadcaster retry{where}`."))
    if unknown:
        out.print(Text(f"{len(unknown)} delivery(ies) unknown", style="magenta") + Text(
            ": the request may have arrived. Check each one, then `broadcaster retry"
            f"{where} --mark-unknown-sent` (it is there) or `--include-unknown` (it is not)."))


def unknown_line(delivery: Delivery) -> Text:
    """A delivery whose fate is unknown, and what to run for it."""
    where = delivery.destination + (f" {delivery.target}" if delivery.target else "")
    line = Text("? ", style="magenta")
    line.append(
        f"{delivery.incident_id} #{delivery.sequence} → {where}: unknown (the request may have reached it, but no "
        f"answer came back). Check {where}: if the post is there, `broadcaster retry {delivery.incident_id} "
        f"--mark-unknown-sent`; if not, `broadcaster retry {delivery.incident_id} --include-unknown`."
    )
    return line


def print_previews(out: Console, previews: Sequence[Preview]) -> None:
    for preview in previews:
        label = f"{preview.destination}" + (f" → {preview.target}" if preview.target else "")
        tag = "[red]PRIVATE[/red]" if preview.visibility == "private" else "[cyan]public[/cyan]"
        if preview.rendered is None:
            out.print(f"── {escape(label)} ({tag}) skipped: {escape(preview.reason)}")
            continue
        out.rule(Text(f"{label} ({preview.visibility})"), align="left", style="red" if preview.visibility == "private" else "cyan")
        if preview.refused:
            # Not shown as if fine: this is what the egress guard would stop, and it would send nothing.
            out.print(Text(f"REFUSED: {preview.refused}", style="bold red"))
            continue
        for index, part in enumerate(preview.rendered.messages, 1):
            if len(preview.rendered.messages) > 1:
                out.print(f"[dim]-- message {index} of {len(preview.rendered.messages)} --[/dim]")
            out.print(Text(part))
        if preview.rendered.payload:
            out.print(Text(json.dumps(_printable(preview.rendered.payload), indent=2, ensure_ascii=False), style="dim"))


def _printable(payload: Any) -> Any:
    try:
        json.dumps(payload)
        return payload
    except TypeError:
        return {k: str(v) for k, v in dict(payload).items()}


def is_terminal() -> bool:
    return sys.stdout.isatty() and sys.stdin.isatty()
