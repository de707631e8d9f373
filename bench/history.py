"""History: publishing one update costs the same with 10 or 10,000 incidents in the store.

For each store size (incidents of 5 updates each, see ``bench.data``), with the
site as the only destination:

* ``broadcaster post -i <open incident> "..."``: store write, incremental site
  build (the incident's page, the front page, feeds, summary.json) written to
  the output directory. The sizes take turns, so the ratio is side by side.
* ``broadcaster site build``: every incident page from the whole store. The
  first build writes every file into an empty folder; later ones rewrite only
  what changed, and both are shown. Each first build gets a new empty folder:
  the last one's is set aside (renamed), never deleted in between, since ext4
  takes several times longer to create ten thousand files just after ten
  thousand were deleted (it avoids reusing their inodes at once).
* The peak memory (resident set) of each command.
* At the largest size, the same full builds kept in one process
  (``bench/one_process.py``): a full build of many pages runs in worker
  processes, one per core, and this shows what they bring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BenchError,
    Project,
    Results,
    cli_command,
    log,
    median,
    remove,
    spread,
    temporary_root,
    tree_memory_mb,
)
from bench.data import COMPONENTS_TOML, store_for

ONE_PROCESS = Path(__file__).with_name("one_process.py")


@dataclass
class Sizes:
    sizes: tuple[int, ...] = (10, 1000, 10000)
    post_reps: int = 7
    build_reps: int = 3
    first_reps: int = 3  # full builds into an empty folder
    goals: bool = True  # the goals compare the smallest and the largest size


def run_benchmark(sizes: Sizes | None = None) -> Results:
    sizes = sizes or Sizes()
    results = Results("history", "History: one update and a full build as the store grows")
    roots = {n: temporary_root(f"history-{n}") for n in sizes.sizes}
    try:
        projects = {n: _project(roots[n], n) for n in sizes.sizes}
        incident = {n: _open_incident(p) for n, p in projects.items()}
        builds = {n: _builds(projects[n], n, sizes, results) for n in sizes.sizes}
        largest = max(sizes.sizes)
        alone_first, alone_later = _one_process(projects[largest], largest, sizes)
        posts, post_peaks = _posts(projects, incident, sizes.post_reps)
        for n in sizes.sizes:
            results.figure(f"post one update, {n:,} incidents", median(posts[n]), "s", spread(posts[n]))
        for n in sizes.sizes:
            first, later, peak, together = builds[n]
            results.figure(f"site build, {n:,} incidents, into an empty folder", median(first), "s", spread(first))
            results.figure(f"site build, {n:,} incidents, again", median(later), "s", spread(later))
            results.figure(f"peak memory, {n:,} incidents (build / post)", max(peak, max(post_peaks[n])), "MB",
                           f"{peak:.0f} MB / {max(post_peaks[n]):.0f} MB; the build's processes together "
                           f"{together:.0f} MB (PSS)")
        results.figure(f"site build, {largest:,} incidents, in one process, into an empty folder", median(alone_first),
                       "s", spread(alone_first))
        results.figure(f"site build, {largest:,} incidents, in one process, again", median(alone_later), "s",
                       spread(alone_later))
        if sizes.goals:
            small, large = min(sizes.sizes), max(sizes.sizes)
            results.goal(f"post at {large:,} / post at {small:,}", median(posts[large]) / median(posts[small]), "x", 1.5)
            first, later, peak, _ = builds[large]
            results.goal(f"site build at {large:,} (slower of first and again)", max(median(first), median(later)), "s",
                         3.0)
            results.goal(f"peak memory at {large:,}", max(peak, max(post_peaks[large])), "MB", 200.0)
    finally:
        for root in roots.values():
            remove(root)
    return results


def _project(root, incidents: int) -> Project:  # type: ignore[no-untyped-def]
    project = Project(root)
    project.write_config(COMPONENTS_TOML)  # no channels, no publish targets: the site alone
    store_for(project.config, incidents, project.store)
    return project


def _open_incident(project: Project) -> str:
    listed = json.loads(project.cli("list", "--json", "--limit", "1").check("list").stdout)
    if not listed or listed[0].get("status") == "resolved":
        raise BenchError(f"the generated store has no open incident: {listed}")
    return str(listed[0]["id"])


def _builds(
    project: Project, incidents: int, sizes: Sizes, results: Results
) -> tuple[list[float], list[float], float, float]:
    log(f"history: site build with {incidents:,} incidents ({sizes.first_reps} + {sizes.build_reps} runs)")
    first = []
    for _ in range(sizes.first_reps):
        _set_aside(project)
        first.append(project.cli("site", "build").check("site build"))
        pages = sum(1 for _ in (project.root / "public" / "incidents").glob("*.html"))
        if pages != incidents:
            raise BenchError(f"site build wrote {pages} incident pages for {incidents} incidents")
    later = [project.cli("site", "build").check("site build") for _ in range(sizes.build_reps)]
    peak = max(r.peak_mb for r in (*first, *later))
    _set_aside(project)  # one more first build, untimed, for the memory of all its processes together
    together = tree_memory_mb([*cli_command(), "--config", str(project.config), "site", "build"],
                              env=project.full_env(), cwd=project.root)
    return [r.seconds for r in first], [r.seconds for r in later], max(peak, together), together


def _one_process(project: Project, incidents: int, sizes: Sizes) -> tuple[list[float], list[float]]:
    """Full builds with the pages kept in one process: into an empty folder, then again."""
    log(f"history: site build with {incidents:,} incidents in one process ({sizes.first_reps} + "
        f"{sizes.build_reps} runs)")
    command = (str(ONE_PROCESS), "--config", str(project.config), "site", "build")
    first = []
    for _ in range(sizes.first_reps):
        _set_aside(project)
        first.append(project.python(*command).check("site build in one process").seconds)
    later = [project.python(*command).check("site build in one process") for _ in range(sizes.build_reps)]
    return first, [r.seconds for r in later]


def _set_aside(project: Project) -> None:
    """An empty output folder for a first build: the last one is renamed, and goes with the project's folder."""
    built = project.root / "public"
    if built.exists():
        aside = project.root / "set-aside"
        aside.mkdir(exist_ok=True)
        built.rename(aside / f"public-{sum(1 for _ in aside.iterdir())}")


def _posts(projects: dict[int, Project], incident: dict[int, str], reps: int) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """Each size in turn, ``reps`` rounds: one update to the open incident, site only."""
    seconds: dict[int, list[float]] = {n: [] for n in projects}
    peaks: dict[int, list[float]] = {n: [] for n in projects}
    for n, project in projects.items():  # warm-up
        _post(project, incident[n], 0)
    log(f"history: {reps} rounds of one update at each size")
    for rep in range(1, reps + 1):
        for n, project in projects.items():
            run = _post(project, incident[n], rep)
            seconds[n].append(run.seconds)
            peaks[n].append(run.peak_mb)
    return seconds, peaks


def _post(project: Project, incident_id: str, rep: int):  # type: ignore[no-untyped-def]
    run = project.cli("post", "--yes", "--json", "-i", incident_id,
                      f"Error rates keep falling (check {rep}). We keep monitoring.").check("post")
    deliveries = json.loads(run.stdout)["deliveries"]
    if [d["state"] for d in deliveries] != ["sent"]:
        raise BenchError(f"the site was not built: {run.stdout}")
    return run
