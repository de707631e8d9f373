"""``channels check``: every channel and publish target verified concurrently, without posting."""

from __future__ import annotations

from collections.abc import Sequence

from broadcaster.config import Config
from broadcaster.delivery import CheckResult
from broadcaster.destination import Destination
from broadcaster.destinations import remote_destinations


def checked_destinations(config: Config) -> list[Destination]:
    """What ``channels check`` verifies: every channel and publish target (the local site needs no check)."""
    return remote_destinations(config)


def check_destinations(config: Config) -> list[CheckResult]:
    """Each destination's check results, plus a failed one for any chat reached from both a public and a
    private table. A check that breaks or hangs is a failed result, never an exception."""
    import asyncio
    checked = checked_destinations(config)
    if not checked:
        return []

    async def run() -> list[CheckResult]:
        results = await asyncio.gather(*(_check_one(config, d) for d in checked))
        return [r for group in results for r in group]

    results = asyncio.run(run())
    return results + shared_targets(results, {d.name: d.visibility for d in checked})


async def _check_one(config: Config, destination: Destination) -> list[CheckResult]:
    import asyncio
    try:
        try:
            return await asyncio.wait_for(destination.check(), config.engine.timeout * 2)
        finally:
            await destination.close()
    except TimeoutError:
        return [CheckResult(destination.name, "", False, "no answer in time; check api_url and the network")]
    except Exception as exc:  # noqa: BLE001 - report every destination, whatever breaks
        return [CheckResult(destination.name, "", False, str(exc))]  # scrubbed where it is printed


def shared_targets(results: Sequence[CheckResult], visibility: dict[str, str]) -> list[CheckResult]:
    """A failed line for each chat reached from a public and a private table once names are resolved.

    The config loader compares targets as written; only the service knows that
    ``@acmestatus`` and ``-1001234567890`` are one chat.
    """
    by_target: dict[str, list[CheckResult]] = {}
    for result in results:
        if result.ok and result.resolved:
            by_target.setdefault(result.resolved, []).append(result)
    found = []
    for resolved, reached in by_target.items():
        seen = sorted({str(visibility.get(r.channel)) for r in reached})
        if len(seen) > 1:
            where = ", ".join(f"[channels.{r.channel}] ({visibility.get(r.channel)}) as {r.target}" for r in reached)
            found.append(CheckResult(reached[0].channel, reached[0].target, False,
                                     f"one chat ({resolved}) is a target of {where}. One chat cannot be both "
                                     f"{' and '.join(seen)}: remove it from one of the tables."))
    return found
