"""Start-up: ``broadcaster --help`` and ``post --dry-run`` against ``python -c "import click"``.

The baseline is the least any click program can cost on this interpreter and
this machine at this moment, so ``--help`` is measured as a ratio to it. The
dry run uses the fan-out benchmark's configuration (every channel type, an S3
target) and a store of 1,000 incidents: it loads the config, opens the store,
composes a new incident and renders it for every destination, sending nothing.
Its goal is absolute (200 ms), and is shown next to the baseline of the same run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bench.common import Project, Results, cli_command, interleaved, log, median, remove, run, spread, temporary_root
from bench.data import COMPONENTS_TOML, store_for

DRY_RUN = ("post", "--dry-run", "--title", "Elevated API errors", "-C", "api=partial_outage",
           "--next-update", "30m", "Elevated error rates on the API. [private]edge fra-2[/private] Investigating.")

# Channels as in the fan-out benchmark, pointing nowhere: a dry run sends nothing.
CHANNELS = """
[publish.bucket]
type = "s3"
bucket = "status"
endpoint_url = "http://127.0.0.1:9"

[channels.x]
type = "twitter"
bearer_token = "${X_TOKEN}"

[channels.tg-public]
type = "telegram"
token = "${TG_TOKEN}"
chat_ids = ["@acmestatus"]

[channels.tg-ops]
type = "telegram"
visibility = "private"
token = "${TG_TOKEN}"
chat_ids = [-1001001, -1001002]

[channels.slack-acme]
type = "slack"
visibility = "private"
token = "${SLACK_TOKEN}"
channel = "C0123ABCD"

[channels.slack-status]
type = "slack"
token = "${SLACK_TOKEN}"
channel = "C0456STATUS"
"""
ENV = {"X_TOKEN": "x-token", "TG_TOKEN": "123:tg-token", "SLACK_TOKEN": "xoxb-token"}


@dataclass
class Sizes:
    reps: int = 21
    incidents: int = 1000


def run_benchmark(sizes: Sizes | None = None) -> Results:
    sizes = sizes or Sizes()
    results = Results("startup", "Start-up: --help and post --dry-run against importing click")
    root = temporary_root("startup")
    try:
        project = Project(root, dict(ENV))
        project.write_config(COMPONENTS_TOML + CHANNELS)
        store_for(project.config, sizes.incidents, project.store)
        env = project.full_env()

        def interpreter() -> float:
            return run([sys.executable, "-c", "pass"], env=env, cwd=root).check("python").seconds

        def baseline() -> float:
            return run([sys.executable, "-c", "import click"], env=env, cwd=root).check("import click").seconds

        def help_() -> float:
            return run([*cli_command(), "--help"], env=env, cwd=root).check("--help").seconds

        def dry_run() -> float:
            return project.cli(*DRY_RUN).check("post --dry-run").seconds

        for measure in (interpreter, baseline, help_, dry_run):  # warm-up: byte-compile, page cache
            measure()
        log(f"start-up: {sizes.reps} interleaved runs of each")
        bare, base, helps, dries = interleaved(sizes.reps, interpreter, baseline, help_, dry_run)
        results.figure('python -c "pass" (the interpreter alone)', median(bare) * 1000, "ms", spread(bare, "ms"))
        results.figure('python -c "import click" (baseline)', median(base) * 1000, "ms", spread(base, "ms"))
        results.figure("broadcaster --help", median(helps) * 1000, "ms", spread(helps, "ms"))
        results.figure(f"post --dry-run, {sizes.incidents:,} incidents, 7 destinations", median(dries) * 1000,
                       "ms", spread(dries, "ms"))
        results.goal("--help / baseline", median(helps) / median(base), "x", 1.3)
        results.goal("post --dry-run", median(dries) * 1000, "ms", 200)
        results.figure("post --dry-run / baseline (for scale)", median(dries) / median(base), "x")
    finally:
        remove(root)
    return results
