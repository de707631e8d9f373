"""Found by review 19k, of a6686cd: a value spelt like one of the reader's short names was taken out of no text, so
"Acme Corp" (another customer's "Acme-Corp") was found inside the reader's own "For Acme Corp EU:" and every
detail for acme-eu was refused. It is still taken out inside the reader's longer names
(``egress.PrivateValues._masks``), and refused anywhere else."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.input_helpers import site_files

T_OTHER = "a1" * 16
T_READER = "b2" * 16


def _page_of(project: Project, token: str) -> str:
    return "".join(text for name, text in site_files(project).items() if name.startswith(f"a/{token}/"))


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
    assert result.exit_code == 0, result.output
    assert detail in _page_of(project, T_READER), result.output


def test_the_readers_own_webhook_is_refused_its_own_full_name(project: Project) -> None:
    """The engine's mask is the same: the reader's own channel is refused a detail naming only the reader."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        project.env.update(T_OTHER=T_OTHER, T_READER=T_READER, S=SECRET)
        project.write_config(f'''
[audiences.acmecorp]
name = "Acme-Corp"
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
        detail = "Your Acme Corp EU uplink FRA-7 is down."
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--skip", "site",
                             "--for", "acme-eu", detail, "Some circuits are down.")
        assert result.exit_code == 0, result.output
        assert "Acme Corp EU uplink" in str(hook.events), result.output
    finally:
        hook.stop()


@pytest.mark.parametrize(("other", "other_name"), [("acmecorp", "Acme-Corp"), ("acmecorp", "Acme Corp."),
                                                   ("acme-corp", "Acme Corporation")])
def test_any_detail_for_the_reader_is_refused(project: Project, other: str, other_name: str) -> None:
    """The detail does not name anyone: the page's own "For Acme Corp EU" heading (printed only beside a detail)
    holds the other customer as the guard reads it, now searched in the whole text."""
    project.env.update(T_OTHER=T_OTHER, T_READER=T_READER)
    project.write_config(f'''
[audiences.{other}]
name = "{other_name}"
feed_token = "${{T_OTHER}}"
components = ["api"]

[audiences.acme-eu]
name = "Acme Corp EU"
feed_token = "${{T_READER}}"
components = ["api"]
''')
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme-eu",
                         "Your uplink FRA-7 is down.", "Some circuits are down.")
    assert result.exit_code == 0, result.output
    assert "Your uplink FRA-7 is down." in _page_of(project, T_READER), result.output
