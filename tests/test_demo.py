"""The README's first command, `bash scripts/demo.sh`, run as written (its install steps are the test
command's own, so the test skips them with DEMO_INSTALL=0): it once broke unnoticed when a flag changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_posts_a_sample_incident_and_builds_a_page_without_its_private_detail(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "DEMO_DIR": str(demo), "DEMO_INSTALL": "0"}
    env.pop("BROADCASTER_CONFIG", None)
    # The script runs the venv's console script: the interpreter running this test is that venv's.
    assert Path(sys.executable).parent == REPO / ".venv" / "bin", "run the suite with .venv/bin/python"
    result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Open {demo}/public/index.html" in result.stdout

    page = (demo / "public" / "index.html").read_text(encoding="utf-8")
    summary = json.loads((demo / "public" / "summary.json").read_text(encoding="utf-8"))
    assert "API errors elevated" in page
    assert [i["name"] for i in summary["incidents"]] == ["API errors elevated"]
    published = page + json.dumps(summary) + (demo / "public" / "feed.xml").read_text(encoding="utf-8")
    for private in ("Edge router fra-2", "ACME Corp", "OPS-4711"):
        assert private not in published, private


def test_the_demo_run_again_follows_its_incident_up(tmp_path: Path) -> None:
    # Review 41b: run twice, the demo posted the same text again and broadcaster refused it as a repeat (exit 2).
    demo = tmp_path / "demo"
    env = {**os.environ, "DEMO_DIR": str(demo), "DEMO_INSTALL": "0"}
    env.pop("BROADCASTER_CONFIG", None)
    for _ in range(2):
        result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((demo / "public" / "summary.json").read_text(encoding="utf-8"))
    [incident] = summary["incidents"]
    assert incident["name"] == "API errors elevated" and incident["status"] == "monitoring", incident
