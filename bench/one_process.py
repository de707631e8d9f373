"""``broadcaster`` with a full site build kept in one process, for the history benchmark's side-by-side figures.

A full build of many pages hands them to worker processes, one per core
(``broadcaster.site.parallel``); this raises the threshold out of reach and runs
the real CLI, unchanged otherwise, so the two can be measured in turns.

    python bench/one_process.py --config broadcaster.toml site build
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broadcaster.site import parallel  # noqa: E402

parallel.MIN_PAGES = sys.maxsize

from broadcaster.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
