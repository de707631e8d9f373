"""Note of fix 21e2: `store export` to standard output wrote in the terminal's encoding, so `> export.jsonl` from a
Latin-1 session (``LANG=en_US`` on glibc, simulated with ``PYTHONIOENCODING``) wrote "é" as one byte, and `store
import` refused the file as not UTF-8. An export is always UTF-8."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import Project


def test_an_export_to_a_latin1_standard_output_is_utf8_and_imports(project: Project) -> None:
    posted = project.cli("post", "--yes", "--title", "Zahlungen gestört", "-C", "api", "Café-Kasse: Fehler.")
    assert posted.exit_code == 0, posted.output
    env = {**os.environ, **project.env, "PYTHONIOENCODING": "latin-1"}
    env.pop("BROADCASTER_CONFIG", None)
    exported = subprocess.run([sys.executable, "-m", "broadcaster", "--config", str(project.config), "store", "export"],
                              cwd=project.root, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert exported.returncode == 0, exported.stderr
    text = exported.stdout.decode("utf-8")  # raises if any byte is Latin-1's
    assert "Café-Kasse" in text and "gestört" in text
    assert all(json.loads(line) for line in text.splitlines())
    (project.root / "export.jsonl").write_bytes(exported.stdout)
    imported = project.cli("--store", str(project.root / "other.db"), "store", "import", str(project.root / "export.jsonl"))
    assert imported.exit_code == 0, imported.output
    shown = project.cli("--store", str(project.root / "other.db"), "list", "--json")
    assert [i["title"] for i in json.loads(shown.stdout)] == ["Zahlungen gestört"]
