"""Found by review 19i, of 94c0f26: its sister-account rule took another customer's id out of the guard for any
reader whose name shared the word, so "...with globex..." reached globex-eu. The id stays guarded; the reader's own
short names and id, as its text writes them, are its mask (``visibility.readers_own_name``)."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import site_files

T_OTHER = "a1" * 16
T_READER = "b2" * 16


def _page_of(project: Project, token: str) -> str:
    return "".join(text for name, text in site_files(project).items() if name.startswith(f"a/{token}/"))


# 1. Another company's bare id in a sister-looking reader's detail is no longer refused.
CASES = [
    # (other id, other name, reader id, reader name, reader's detail naming the OTHER company by its id)
    ("globex", "Globex Corporation", "globex-eu", "Globex Europe GmbH",
     "Your circuits share the FRA-7 uplink with globex, whose change broke it."),
    ("globex", "Globex Corporation", "globex-eu", "Globex Europe GmbH",
     "A change made for Globex Corp broke your FRA-7 uplink."),
    ("routing", "Routing Partners Ltd", "acme", "Acme Routing",
     "Your circuits failed over after the outage at routing this morning."),
]


@pytest.mark.parametrize(("other", "other_name", "reader", "reader_name", "detail"), CASES)
def test_another_customers_bare_id_is_kept_from_a_reader_whose_name_shares_its_word(
    project: Project, other: str, other_name: str, reader: str, reader_name: str, detail: str,
) -> None:
    """The id stands alone here, not inside the reader's own name ("Globex Europe", "Acme Routing"): it names the
    other customer, and the guard refused it before 94c0f26."""
    project.env.update(T_OTHER=T_OTHER, T_READER=T_READER)
    project.write_config(f'''
[audiences.{other}]
name = "{other_name}"
feed_token = "${{T_OTHER}}"
components = ["api"]

[audiences.{reader}]
name = "{reader_name}"
feed_token = "${{T_READER}}"
components = ["api"]
''')
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", reader, detail,
                         "Some circuits are down.")
    assert detail not in _page_of(project, T_READER), f"{other}'s id reached {reader}'s page: {result.output}"
    assert result.exit_code == 2, result.output


# 2. A customer without `name` is named by its id alone: the sister rule drops that, its only name.
def test_a_customer_named_only_by_its_id_stays_guarded_for_its_sister(project: Project) -> None:
    project.env.update(T_OTHER=T_OTHER, T_READER=T_READER)
    project.write_config('''
[audiences.globex]
feed_token = "${T_OTHER}"
components = ["api"]

[audiences.globex-eu]
name = "Globex Europe GmbH"
feed_token = "${T_READER}"
components = ["api"]
''')
    detail = "The fault started on the globex account."
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "globex-eu", detail,
                         "Some circuits are down.")
    assert detail not in _page_of(project, T_READER), result.output
    assert result.exit_code == 2, result.output


# 3. id_is_a_word drops the only guard on the customer's short name, and the refusal advises setting it.
ROUTE = '\n[audiences.route]\nname = "Route Logistics GmbH"\ncomponents = ["api"]\n'
ROUTE_FLAGGED = '\n[audiences.route]\nname = "Route Logistics GmbH"\nid_is_a_word = true\ncomponents = ["api"]\n'
NAMING = "Route Logistics shipments are delayed."


def test_a_refusal_for_text_naming_the_customer_does_not_advise_id_is_a_word(project: Project) -> None:
    """The text names the customer ("Route Logistics"): following the advice publishes its name."""
    project.write_config(ROUTE)
    result = project.cli("post", "--yes", "--title", "Degraded", "-C", "api", NAMING)
    assert result.exit_code == 2, result.output
    assert "id_is_a_word" not in result.output, result.output


# 4. With no name, the flag cannot help, yet the refusal still says it does, without saying which customer.
