"""Session 61's own fixes of what its reviews noticed and left: email tables told apart by the mailbox they reach."""

from __future__ import annotations

import pytest

from tests.conftest import Project

MAIL_TABLE = """
[channels.{name}]
type = "email"
host = "smtp.example.com"
from = "Acme status <status@example.com>"
to = ["{to}"]
visibility = "{visibility}"
"""


@pytest.mark.parametrize("staff, public", [
    ("customers+ops@example.net", "customers@example.net"),
    ("Customers+staff@Example.NET", "customers+public@example.net"),
])
def test_one_mailbox_reached_by_a_staff_table_and_a_public_one_is_refused(project: Project, staff: str,
                                                                          public: str) -> None:
    """`customers+ops@x` is delivered to `customers@x`'s mailbox (subaddressing), so a staff table at the one and a
    public table at the other mailed staff detail to the list behind both: the one-place-one-visibility check read
    the two addresses as written (noticed by review 61e)."""
    project.write_config(MAIL_TABLE.format(name="staff", to=staff, visibility="internal")
                         + MAIL_TABLE.format(name="customers", to=public, visibility="public"))
    result = project.cli("post", "--dry-run", "--title", "API errors", "Errors.")
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "One chat cannot be both" in said, said


def test_two_folders_of_one_mailbox_for_the_same_readers_are_two_places(project: Project) -> None:
    """ops+pager@ and ops+archive@ in two internal tables: two folders the operator asked for, not one place an update
    would reach twice."""
    project.write_config(MAIL_TABLE.format(name="pager", to="ops+pager@example.com", visibility="internal")
                         + MAIL_TABLE.format(name="archive", to="ops+archive@example.com", visibility="internal"))
    result = project.cli("post", "--dry-run", "--title", "API errors", "Errors.")
    assert result.exit_code == 0, result.output
