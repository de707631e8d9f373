"""Found by review 19j, of 4164c46: the reader's mask (its short names, its id as written) let it read another
customer's name or id spelt like a masked phrase under the guard's own folding ("Acme-Corp", "Acme Corp.", "Nestle
Waters", id acme-corp). A value that is a whole masked phrase, as the guard reads it, is not masked by that phrase
(``egress.PrivateValues._masks``)."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import READER_TOKEN, page_of, post_for, two_customers

CASES = [
    # (other id, other name, reader id, reader name, reader's detail naming the OTHER customer)
    # 1. the other's ID, written as words, is the reader's short name ("acme-corp" vs "Acme Corp" of "Acme Corp EU")
    pytest.param("acme-corp", "Acme Corporation", "acme-eu", "Acme Corp EU",
                 "A change made for Acme Corp broke your FRA-7 uplink.", id="other-id-words-is-short-name"),
    # 2. the other's NAME differs from the short name only by punctuation
    pytest.param("acmecorp", "Acme-Corp", "acme-eu", "Acme Corp EU",
                 "A change made for Acme Corp broke your FRA-7 uplink.", id="other-name-hyphen"),
    pytest.param("acmecorp", "Acme Corp.", "acme-eu", "Acme Corp EU",
                 "A change made for Acme Corp. broke your FRA-7 uplink.", id="other-name-trailing-dot"),
    # 3. ... only by accents (the guard folds accents off values: "Nestle Waters" IS the customer "Nestlé Waters")
    pytest.param("nestle", "Nestle Waters", "nestle-eu", "Nestlé Waters Europe",
                 "A change made for Nestle Waters broke your FRA-7 uplink.", id="other-name-accents"),
    # 4. the reader's id as written ("Globex EU" for globex-eu) is another customer's name: never filtered
    pytest.param("globex-emea", "Globex EU", "globex-eu", "Globex Europe GmbH",
                 "A change made for Globex EU broke your FRA-7 uplink.", id="id-as-written-is-other-name"),
    # 5. punctuation in the READER's name defeats the "not another customer's name" rule: "Acme Corp," is kept as
    #    a short name of "Acme Corp, Europe" and masks the other customer "Acme Corp" exactly
    pytest.param("acme-corp", "Acme Corp", "acme-eu", "Acme Corp, Europe",
                 "Acme Corp, another customer, made a change that broke your FRA-7 uplink.",
                 id="reader-name-punctuation"),
    # 6. four words: the three-word short name "Acme Corp EU" is another customer's id as words
    pytest.param("acme-corp-eu", "Acme Corporation Europe", "acme-eus", "Acme Corp EU Services",
                 "A change made for Acme Corp EU broke your FRA-7 uplink.", id="four-words-other-id"),
]


@pytest.mark.parametrize(("other", "other_name", "reader", "reader_name", "detail"), CASES)
def test_the_mask_does_not_let_a_reader_read_another_customer(
    project: Project, other: str, other_name: str, reader: str, reader_name: str, detail: str,
) -> None:
    two_customers(project, other, other_name, reader, reader_name)
    result = post_for(project, reader, detail)
    assert detail not in page_of(project, READER_TOKEN), f"{other} ({other_name}) reached {reader}'s page: {result.output}"
    assert result.exit_code == 2, result.output


def test_the_customers_own_webhook_channel_is_not_told_the_other_customer_either(project: Project) -> None:
    """The engine builds the same mask (``PrivateValues.of(..., mask=readers_own_name(...))``): the reader's own
    channel is refused the other customer's id as words too."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        two_customers(project, "acme-corp", "Acme Corporation", "acme-eu", "Acme Corp EU", env={"S": SECRET},
                      extra=f'\n[channels.acme-hook]\ntype = "webhook"\naudience = "acme-eu"\n'
                            f'url = "{hook.hook_url}"\nsecret = "${{S}}"\n')
        result = post_for(project, "acme-eu", "A change made for Acme Corp broke your FRA-7 uplink.")
        told = str(hook.events)
        assert "Acme Corp broke" not in told, f"acme-corp reached acme-eu's webhook: {result.output}"
        assert result.exit_code == 2, result.output
    finally:
        hook.stop()
