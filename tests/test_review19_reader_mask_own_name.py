"""Found by review 19k, of a6686cd: a value spelt like one of the reader's short names was taken out of no text, so
"Acme Corp" (another customer's "Acme-Corp") was found inside the reader's own "For Acme Corp EU:" and every
detail for acme-eu was refused. It is still taken out inside the reader's longer names
(``egress.PrivateValues._masks``), and refused anywhere else."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import READER_TOKEN, page_of, post_for, two_customers

CASES = [
    # (other id, other name, reader id, reader name, the reader's detail naming ONLY ITSELF by its full name)
    pytest.param("acmecorp", "Acme-Corp", "acme-eu", "Acme Corp EU",
                 "Your Acme Corp EU uplink FRA-7 is down.", id="own-full-name-other-hyphen"),
    pytest.param("acmecorp", "Acme Corp.", "acme-eu", "Acme Corp EU",
                 "Your Acme Corp EU uplink FRA-7 is down.", id="own-full-name-other-dot"),
    pytest.param("acme-corp", "Acme Corporation", "acme-eu", "Acme Corp EU",
                 "Your Acme Corp EU uplink FRA-7 is down.", id="own-full-name-other-id-words"),
    pytest.param("nestle", "Nestle Waters", "nestle-eu", "Nestlé Waters Europe",
                 "Your Nestle Waters Europe uplink FRA-7 is down.", id="own-full-name-unaccented-other-accents"),
]


@pytest.mark.parametrize(("other", "other_name", "reader", "reader_name", "detail"), CASES)
def test_a_reader_may_read_its_own_full_name(
    project: Project, other: str, other_name: str, reader: str, reader_name: str, detail: str,
) -> None:
    two_customers(project, other, other_name, reader, reader_name)
    result = post_for(project, reader, detail)
    assert result.exit_code == 0, result.output
    assert detail in page_of(project, READER_TOKEN), result.output


def test_the_readers_own_webhook_is_told_its_own_full_name(project: Project) -> None:
    """The engine's mask is the same: the reader's own channel gets a detail naming only the reader."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        two_customers(project, "acmecorp", "Acme-Corp", "acme-eu", "Acme Corp EU", env={"S": SECRET},
                      extra=f'\n[channels.acme-hook]\ntype = "webhook"\naudience = "acme-eu"\n'
                            f'url = "{hook.hook_url}"\nsecret = "${{S}}"\n')
        detail = "Your Acme Corp EU uplink FRA-7 is down."
        result = post_for(project, "acme-eu", detail, "--skip", "site")
        assert result.exit_code == 0, result.output
        assert "Acme Corp EU uplink" in str(hook.events), result.output
    finally:
        hook.stop()


@pytest.mark.parametrize(("other", "other_name"), [("acmecorp", "Acme-Corp"), ("acmecorp", "Acme Corp."),
                                                   ("acme-corp", "Acme Corporation")])
def test_a_detail_for_the_reader_naming_nobody_is_given(project: Project, other: str, other_name: str) -> None:
    """The page's own "For Acme Corp EU" heading (printed beside a detail) holds the other customer as the guard
    reads it: taken out inside that longer name, the other is not found there."""
    two_customers(project, other, other_name, "acme-eu", "Acme Corp EU")
    result = post_for(project, "acme-eu", "Your uplink FRA-7 is down.")
    assert result.exit_code == 0, result.output
    assert "Your uplink FRA-7 is down." in page_of(project, READER_TOKEN), result.output
