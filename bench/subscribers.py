"""Many subscribers: one Telegram channel with 1,000 chats, as fast as Telegram allows and no faster.

The fake Bot API enforces Telegram's limits (30 messages a second overall, one
a second per chat, 429 with ``retry_after`` beyond). ``broadcaster post --only``
the channel must finish within 1.05x of the limit's own bound (1,000 / 30 s)
with no 429 at all. Each run takes about 35 s, hence 3 repetitions.

Then nothing limits: the client's pacing is off (``bench/unpaced.py`` runs the
same CLI with the Telegram channel's pacing facts set to "no limit"), and the
server is ``bench.sink.BotApiSink``, which answers thousands of requests a
second (the checking fake tops out at a few hundred, below the goal). What is
left is our client's own throughput (engine, store, python-telegram-bot,
httpx), in messages a second as the sink received them.
"""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BASE_CONFIG,
    BenchError,
    Project,
    Results,
    Run,
    cli_command,
    log,
    median,
    remove,
    run,
    spread,
    temporary_root,
)
from bench.data import COMPONENTS_TOML
from bench.sink import BotApiSink
from tests.fakes.telegram import GLOBAL_PER_SECOND, FakeTelegram

TOKEN = "123456:bench-token"
UNPACED = Path(__file__).with_name("unpaced.py")
UNPACED_DEADLINE = 30  # seconds ([engine] deadline) for the unpaced runs


@dataclass
class Sizes:
    chats: int = 1000
    reps: int = 3
    unlimited_reps: int = 3


def chat_ids(count: int) -> list[int]:
    return [-1003000000 - n for n in range(count)]


def channel_toml(url: str, chats: list[int]) -> str:
    return textwrap.dedent(f"""
        [channels.subscribers]
        type = "telegram"
        token = "${{TG_TOKEN}}"
        chat_ids = [{", ".join(str(c) for c in chats)}]
        api_url = "{url}"
    """)


def run_benchmark(sizes: Sizes | None = None) -> Results:
    sizes = sizes or Sizes()
    results = Results("subscribers", f"Many subscribers: one Telegram channel with {sizes.chats:,} chats")
    chats = chat_ids(sizes.chats)
    bound = sizes.chats / GLOBAL_PER_SECOND
    limited, too_many = _limited(sizes, chats)
    results.figure(f"post to {sizes.chats:,} chats, limits enforced", median(limited), "s", spread(limited))
    results.figure(f"the limits' bound ({sizes.chats:,} / {GLOBAL_PER_SECOND} per second)", bound, "s")
    results.goal("post / bound", median(limited) / bound, "x", 1.05)
    results.goal("429 answers", float(too_many), "count", 0)
    runs = _unlimited(sizes, chats)
    walls, rates = [r.seconds for r in runs], [r.rate for r in runs]
    results.figure(f"post to {sizes.chats:,} chats, no limits (wall time)", median(walls), "s", spread(walls))
    delivered = min(r.delivered for r in runs)
    if delivered < sizes.chats:
        results.notes.append(
            f"without limits, as few as {delivered:,} of {sizes.chats:,} messages arrived in one run: "
            f"the rest failed ({runs[0].failure})"
        )
    results.goal("client throughput, no limits", median(rates), "msg/s", 1000, higher_is_better=True)
    return results


@dataclass
class Sent:
    seconds: float  # the command's wall time
    rate: float  # messages a second as the server saw them arrive, first to last
    delivered: int
    failure: str = ""


def _project(root: Path, url: str, chats: list[int], *, deadline: int = 120) -> Project:
    project = Project(root, {"TG_TOKEN": TOKEN})
    project.write_config(COMPONENTS_TOML + channel_toml(url, chats), base=BASE_CONFIG.replace("deadline = 120", f"deadline = {deadline}"))
    return project


def _post(project: Project, label: str, *, unpaced: bool = False) -> tuple[Run, dict[str, str]]:
    """One post to every chat of the channel; the run, and each chat's delivery state."""
    args = ["--config", str(project.config), "post", "--yes", "--json", "--only", "subscribers",
            "--title", f"Elevated API errors {label}", "-C", "api", f"Elevated error rates on the API ({label})."]
    command = [sys.executable, str(UNPACED), *args] if unpaced else [*cli_command(), *args]
    result = run(command, env=project.full_env(), cwd=project.root, timeout=600)
    if result.returncode not in (0, 3) or not result.stdout:
        raise BenchError(f"post to the subscribers exited {result.returncode}: {result.stderr[-2000:]}")
    deliveries = json.loads(result.stdout)["deliveries"]
    return result, {d["target"]: d["state"] if d["state"] == "sent" else d["error"] for d in deliveries
                    if d["destination"] == "subscribers"}


def _rate(times: list[float]) -> float:
    """Messages a second from the first arrival to the last; 0 when (almost) nothing arrived."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


def _limited(sizes: Sizes, chats: list[int]) -> tuple[list[float], int]:
    root = temporary_root("subscribers")
    try:
        with FakeTelegram(token=TOKEN, chats={c: f"subscriber {c}" for c in chats}, enforce_limits=True) as fake:
            project = _project(root, fake.url, chats)
            walls, too_many = [], 0
            for rep in range(1, sizes.reps + 1):
                log(f"subscribers: {len(chats):,} chats with limits, run {rep}/{sizes.reps} (about {len(chats) / 30:.0f} s)")
                fake.reset()
                result, states = _post(project, f"limited {rep}")
                received = sum(len(fake.messages.get(chat, [])) for chat in chats)
                if set(states.values()) != {"sent"} or received != len(chats):
                    raise BenchError(f"{received} of {len(chats)} chats got the message: {set(states.values())}")
                walls.append(result.seconds)
                too_many += fake.too_many_count
            return walls, too_many
    finally:
        remove(root)


def _unlimited(sizes: Sizes, chats: list[int]) -> list[Sent]:
    root = temporary_root("subscribers-unlimited")
    try:
        with BotApiSink(TOKEN) as sink:
            # Without pacing, 1,000 sends should take a few seconds: a short deadline bounds a collapse.
            project = _project(root, sink.url, chats, deadline=UNPACED_DEADLINE)
            runs = []
            for rep in range(1, sizes.unlimited_reps + 1):
                log(f"subscribers: {len(chats):,} chats without limits, run {rep}/{sizes.unlimited_reps}")
                sink.reset()
                result, states = _post(project, f"unlimited {rep}", unpaced=True)
                times = sink.times()
                failures = [s for s in states.values() if s != "sent"]
                runs.append(Sent(result.seconds, _rate(times), len(times), failures[0] if failures else ""))
            return runs
    finally:
        remove(root)
