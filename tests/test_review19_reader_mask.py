"""Found by review 19j, of 4164c46: the reader's mask (its short names, its id as written) let it read another
customer's name or id spelt like a masked phrase under the guard's own folding ("Acme-Corp", "Acme Corp.", "Nestle
Waters", id acme-corp). A value that is a whole masked phrase, as the guard reads it, is never masked
(``egress.PrivateValues._inside_mask``)."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import site_files

T_OTHER = "a1" * 16
T_READER = "b2" * 16


def _page_of(project: Project, token: str) -> str:
    return "".join(text for name, text in site_files(project).items() if name.startswith(f"a/{token}/"))


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
    assert detail not in _page_of(project, T_READER), f"{other} ({other_name}) reached {reader}'s page: {result.output}"
    assert result.exit_code == 2, result.output


def test_the_customers_own_webhook_channel_is_told_the_other_customer_too(project: Project) -> None:
    """Same mask in the engine (engine.py, PrivateValues.of(..., mask=readers_own_name(...))): the reader's own
    channel is told the other customer's id as words."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        project.env.update(T_OTHER=T_OTHER, T_READER=T_READER, S=SECRET)
        project.write_config(f'''
[audiences.acme-corp]
name = "Acme Corporation"
feed_token = "${{T_OTHER}}"
components = ["api"]

[audiences.acme-eu]
name = "Acme Corp EU"
feed_token = "${{T_READER}}"
components = ["api"]

[channels.acme-hook]
type = "webhook"
audience = "acme-eu"
url = "{hook.hook_url}"
secret = "${{S}}"
''')
        detail = "A change made for Acme Corp broke your FRA-7 uplink."
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme-eu", detail,
                             "Some circuits are down.")
        told = str(hook.events)
        assert "Acme Corp broke" not in told, f"acme-corp reached acme-eu's webhook: {result.output}"
        assert result.exit_code == 2, result.output
    finally:
        hook.stop()
