"""The wheel holds what an install needs, under broadcaster only, and works installed for real (not editable).

The suite itself runs against an editable install, which maps channels/ and
messages/ in place: a package missing from pyproject's list, a template left out
of package-data or a stray top-level package would pass every other test. Here
the repo's sources are built into a wheel (offline: the venv's setuptools, no
build isolation, no index), the wheel is read, then installed with pip into a
folder of its own and run through its console script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import BASE_CONFIG, ROOT
from tests.test_import_cycles import PACKAGES, modules

pytestmark = pytest.mark.slow

# What the build reads; copied so that it writes its build/ and egg-info beside the copy, not in the repo.
SOURCES = ("pyproject.toml", "README.md", "broadcaster", "channels", "messages")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [found] = out.glob("broadcaster-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed by pip into a folder of its own (dependencies come from the test venv)."""
    target = tmp_path_factory.mktemp("installed")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "--quiet",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_the_wheel_has_broadcaster_alone_at_its_top(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"broadcaster", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, tops
    assert "channels" not in tops and "messages" not in tops


def test_the_wheel_holds_every_module_and_the_site_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "/".join(module.split(".")) + ("/__init__.py" if path.name == "__init__.py" else ".py")
        for module, path in modules(PACKAGES).items()
    }
    assert expected - names == set(), "add the missing packages to [tool.setuptools] packages in pyproject.toml"
    for folder in ("templates", "static"):
        shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "broadcaster" / "site" / folder).rglob("*") if p.is_file()}
        assert shipped and shipped <= names, f"site/{folder} is not all in package-data"
    assert "broadcaster/starter.toml" in names


def _env(installed: Path) -> dict[str, str]:
    # Not measured by coverage: the installed copy's files would count as other files than the repo's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    env.pop("BROADCASTER_CONFIG", None)
    return {**env, "PYTHONPATH": str(installed)}


def _run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(installed / "bin" / "broadcaster"), *args], cwd=cwd, env=_env(installed),
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_installed_console_script_runs_from_the_install_not_the_repo(installed: Path, tmp_path: Path) -> None:
    helped = _run(installed, tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Usage: broadcaster" in helped.stdout and "post" in helped.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u, broadcaster.channels.base as b, broadcaster.messages.gate as g;"
         "print(b.__file__); print(g.__file__); print(u.find_spec('channels'), u.find_spec('messages'))"],
        cwd=tmp_path, env=_env(installed), capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    base, gate, tops = probe.stdout.splitlines()
    assert Path(base).is_relative_to(installed) and Path(gate).is_relative_to(installed)
    assert tops == "None None"  # no top-level channels or messages to clash with Django Channels


def test_the_installed_package_writes_a_starter_config_and_builds_the_page(installed: Path, tmp_path: Path) -> None:
    started = _run(installed, tmp_path, "init", str(tmp_path / "starter.toml"))
    assert started.returncode == 0, started.stderr
    assert "[page]" in (tmp_path / "starter.toml").read_text(encoding="utf-8")
    (tmp_path / "broadcaster.toml").write_text(BASE_CONFIG, encoding="utf-8")
    posted = _run(installed, tmp_path, "post", "--yes", "--title", "API errors", "-C", "api", "Elevated API errors.")
    assert posted.returncode == 0, posted.stdout + posted.stderr
    page = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert "API errors" in page
    assert any((tmp_path / "public").rglob("*.css")), "the page's stylesheet (package data) was not written"
