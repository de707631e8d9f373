"""Config values the site prints or files by: refused when the config is read, not after a post is stored.

Found reviewing issue 17: a component id such as "a..b" or "api\\n", or a component name holding a control
character, passed the config and then failed every site build (badges/<id>.svg, components/<id>/, the
feeds' XML), after the post was stored: exit 3, "unexpected error", the whole page stale.
"""

from __future__ import annotations

import json

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


@pytest.mark.parametrize(("table", "key"), [
    ('[operator]\nname = "bob\\u001b]0;PWNED\\u0007"', "operator.name"),
    ('[operator]\nname = "bob\\u200bsmith"', "operator.name"),
    ('[audiences.acme]\nname = "Ac\\u001b[2Jme"\ncomponents = ["api"]', "audiences.acme.name"),
], ids=["operator-escape", "operator-zero-width", "audience-escape"])
def test_a_control_character_in_a_name_messages_print_is_refused(project: Project, table: str, key: str) -> None:
    """Attack (review): the operator's and a customer's name were read unchecked: an escape sequence reached the
    terminal (`show`, `preview`), the staff and customer channels, and made `store export` unimportable."""
    project.write_config(BASE_CONFIG + "\n" + table + "\n", base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 2, result.output
    assert key in result.output and "\x1b" not in result.output


def test_a_login_name_with_control_characters_is_shown_without_them(project: Project) -> None:
    """$USER is not the operator's to choose in a hurry: its control characters are dropped, not refused."""
    result = project.cli("post", "-y", "--json", "-t", "Errors", "Looking into it.",
                         env={"USER": "bob\x1b]0;PWNED\x07\x1b[31m"})
    assert result.exit_code == 0, result.output
    shown = project.cli("show", json.loads(result.stdout)["incident_id"])
    assert "bob]0;PWNED[31m" in shown.stdout and "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    exported = project.root / "export.jsonl"
    assert project.cli("store", "export", str(exported)).exit_code == 0
    assert "\\u001b" not in exported.read_text(encoding="utf-8")


@pytest.mark.parametrize(("component", "key"), [
    ('id = "api"\ndescription = "REST API (internal only: rack FRA-RACK-7)"', "components[0].description"),
    ('id = "api"\nname = "API (staff only - rack FRA-7)"', "components[0].name"),
    ('id = "api"\ngroup = "Core (confidential: host db-primary-3)"', "components[0].group"),
], ids=["internal-only", "staff-only", "confidential"])
def test_a_label_with_the_detail_it_keeps_from_outsiders_is_refused_in_a_text_every_reader_sees(
    project: Project, component: str, key: str
) -> None:
    """Review 29a: the config's texts were checked for markers only, and a staff label with its detail in a component's
    description reached the page, summary.json and every API file as written."""
    project.write_config(f'[page]\ntitle = "Acme status"\noutput_dir = "public"\n\n[[components]]\n{component}\n',
                         base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 2, result.output
    assert key in result.output and "the detail it keeps from outsiders" in result.output
    assert not (project.root / "public").exists()


def test_a_customers_name_takes_no_label_with_detail_its_own_channel_would_read(project: Project) -> None:
    project.write_config(BASE_CONFIG + '\n[audiences.acme]\nname = "Acme Corp (staff only: churn risk)"\n'
                         'components = ["api"]\n', base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 2 and "audiences.acme.name" in result.output, result.output


# Review 29e: a label alone says who a component is for; a config refused stops every command.
@pytest.mark.parametrize("text", ["Internal", "Internal.", "Internal tools", "Internal: DNS", "Staff: HR systems",
                                  "Private Link", "Staff portal", "Admin console (staff)", "VPN (staff only)",
                                  "Intranet (employees only)", "Internal only. No customer impact.",
                                  "Staff only. Customers are not affected."])
def test_a_label_that_says_who_a_component_is_for_is_accepted(project: Project, text: str) -> None:
    project.write_config(f'[page]\ntitle = "Acme status"\noutput_dir = "public"\n\n[[components]]\nid = "api"\n'
                         f'group = "{text}"\ndescription = "{text}"\n', base="")
    result = project.cli("post", "-y", "-t", "Errors", "Looking into it.")
    assert result.exit_code == 0, result.output
