"""The registry: a type is a module holding its class; a module named ``_x.py`` is a helper, never a type."""

from __future__ import annotations

import sys
from pathlib import Path

import broadcaster.channels
import pytest

import broadcaster.site.hosts
from broadcaster import registry
from broadcaster.errors import ConfigError
from tests.conftest import Project


@pytest.fixture
def extra_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder searched after channels/ and site/hosts/, as if the modules in it were there."""
    folder = tmp_path / "more"
    folder.mkdir()
    for package in (broadcaster.channels, broadcaster.site.hosts):
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
        for name in ("_helper", "pigeon"):
            monkeypatch.delitem(sys.modules, f"{package.__name__}.{name}", raising=False)
    (folder / "_helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    (folder / "pigeon.py").write_text("class Pigeon:\n    type_name = 'pigeon'\n", encoding="utf-8")
    return folder


def test_every_type_there_is_loads_as_its_own_class() -> None:
    assert {"slack", "telegram", "twitter"} <= set(registry.channel_types())
    assert {"directory", "git", "s3"} <= set(registry.host_types())
    for name in registry.channel_types():
        assert registry.load_channel_class(name).type_name == name
    for name in registry.host_types():
        assert registry.load_host_class(name).type_name == name


def test_a_helper_module_is_no_type(extra_modules: Path) -> None:
    assert "_helper" not in registry.channel_types() and "_helper" not in registry.host_types()
    with pytest.raises(ConfigError, match="unknown channel type '_helper'. Known types: ") as caught:
        registry.load_channel_class("_helper")
    assert "_helper" not in str(caught.value).split("Known types: ")[1]
    with pytest.raises(ConfigError, match="unknown publish type '_helper'"):
        registry.load_host_class("_helper")


def test_a_module_without_its_class_is_refused(extra_modules: Path) -> None:
    assert "pigeon" in registry.channel_types()  # a module is a type by its name...
    with pytest.raises(ConfigError, match=r"channels/pigeon.py defines no Channel with that type_name"):
        registry.load_channel_class("pigeon")  # ...but only a Channel subclass can be one
    with pytest.raises(ConfigError, match=r"site/hosts/pigeon.py defines no SiteHost with that type_name"):
        registry.load_host_class("pigeon")


@pytest.mark.parametrize("section", ["channels", "publish"])
def test_a_config_naming_a_helper_is_refused_and_nothing_is_stored(
    project: Project, extra_modules: Path, section: str
) -> None:
    project.write_config(f"[{section}.h]\ntype = '_helper'\n")
    result = project.cli("post", "--yes", "--title", "API down", "--status", "investigating", "Looking.")
    assert result.exit_code == 2
    assert f"{section}.h.type" in result.output and "_helper" in result.output
    assert not (project.root / ".broadcaster" / "state.db").exists()
