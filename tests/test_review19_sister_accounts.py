"""Found by review 19i, of 94c0f26: its sister-account rule took another customer's id out of the guard for any
reader whose name shared the word, so "...with globex..." reached globex-eu. The id stays guarded; the reader's own
short names and id, as its text writes them, are its mask (``visibility.readers_own_name``)."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import READER_TOKEN, page_of, post_for, two_customers

# 1. Another company's bare id in a sister-looking reader's detail is refused.
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
    two_customers(project, other, other_name, reader, reader_name)
    result = post_for(project, reader, detail)
    assert detail not in page_of(project, READER_TOKEN), f"{other}'s id reached {reader}'s page: {result.output}"
    assert result.exit_code == 2, result.output


# 2. A customer without `name` is named by its id alone, which stays guarded for its sister.
def test_a_customer_named_only_by_its_id_stays_guarded_for_its_sister(project: Project) -> None:
    two_customers(project, "globex", None, "globex-eu", "Globex Europe GmbH")
    detail = "The fault started on the globex account."
    result = post_for(project, "globex-eu", detail)
    assert detail not in page_of(project, READER_TOKEN), result.output
    assert result.exit_code == 2, result.output


# 3. A refusal of a text naming the customer does not advise id_is_a_word (which would publish its name).
ROUTE = '\n[audiences.route]\nname = "Route Logistics GmbH"\ncomponents = ["api"]\n'
ROUTE_FLAGGED = '\n[audiences.route]\nname = "Route Logistics GmbH"\nid_is_a_word = true\ncomponents = ["api"]\n'
NAMING = "Route Logistics shipments are delayed."


def test_a_refusal_for_text_naming_the_customer_does_not_advise_id_is_a_word(project: Project) -> None:
    """The text names the customer ("Route Logistics"): following the advice publishes its name."""
    project.write_config(ROUTE)
    result = project.cli("post", "--yes", "--title", "Degraded", "-C", "api", NAMING)
    assert result.exit_code == 2, result.output
    assert "id_is_a_word" not in result.output, result.output

