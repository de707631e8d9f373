"""Config values the site prints or files by: refused when the config is read, not after a post is stored.

Found reviewing issue 17: a component id such as "a..b" or "api\\n", or a component name holding a control
character, passed the config and then failed every site build (badges/<id>.svg, components/<id>/, the
feeds' XML), after the post was stored: exit 3, "unexpected error", the whole page stale.
"""

from __future__ import annotations

import pytest

from tests.conftest import BASE_CONFIG, Project

HOSTILE = [
    ('id = "a..b"', "components[0].id"),
    ('id = "api\\n"', "components[0].id"),
    (f'id = "{"a" * 129}"', "components[0].id"),
    ('id = "api"\nname = "API\\u000bdown"', "components[0].name"),
    ('id = "api"\nname = "API\\u202eevil"', "components[0].name"),
    ('id = "api"\ngroup = "Core\\u0000"', "components[0].group"),
]


@pytest.mark.parametrize(("component", "key"), HOSTILE, ids=["dots", "newline", "long", "vt", "bidi", "nul"])
def test_a_component_the_site_cannot_print_is_refused_before_anything_is_stored(
    project: Project, component: str, key: str
) -> None:
    project.write_config(f'[page]\ntitle = "Acme status"\noutput_dir = "public"\n\n[[components]]\n{component}\n',
                         base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 2, result.output
    assert key in result.output
    assert not (project.root / "public").exists()


def test_a_control_character_in_the_page_title_is_refused(project: Project) -> None:
    project.write_config(BASE_CONFIG.replace('title = "Acme status"', 'title = "Acme\\u001b[31m status"'), base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 2 and "page.title" in result.output and "U+001B" in result.output


def test_a_long_id_within_the_sites_rule_and_an_emoji_name_are_accepted(project: Project) -> None:
    project.write_config(f'[page]\ntitle = "Acme status"\noutput_dir = "public"\n\n[[components]]\n'
                         f'id = "{"a" * 128}"\nname = "API 👩‍💻"\n', base="")
    result = project.cli("post", "-y", "-t", "Errors", "-C", "a" * 128, "Looking into it.")
    assert result.exit_code == 0, result.output
    assert (project.root / "public" / "badges" / f"{'a' * 128}.svg").exists()
