"""The egress guard on the site: every file written and every upload, against the private values it carries.

The views keep private detail out by construction; these records get a private
value into public text the way an operator's slip does (a customer's name also
written in the public message or title), written straight into the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.egress import LeakRefused, PrivateValues, readable_text

from broadcaster.config import ChannelConfig
from broadcaster.errors import DeliveryError
from broadcaster.registry import load_host_class
from broadcaster.site.hosts import BuiltSite
from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.input_helpers import stored
from tests.test_site_bad_records import store_record
from tests.unsent_records import assert_refused_whole, import_unsent, saying


def site_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(("incident_id", "message", "fields"), [
    ("customer-named", "Globex Industries sees checkout failures.", {"customers": ("Globex Industries",)}),
    ("ticket-named", "Tracked in OPS-4711: checkout failures.", {"tickets": ("OPS-4711",)}),
    ("note-repeated", "Router fra-edge-02 is down. [private]fra-edge-02[/private]", {}),
    ("fullwidth", "Ｇｌｏｂｅｘ sees checkout failures.", {"customers": ("Globex",)}),
    ("entity", "Initech &amp; friends see failures.", {"private_note": "Initech & friends"}),
], ids=["customer", "ticket", "span", "fullwidth", "html-entity"])
def test_a_page_that_would_hold_a_private_value_is_refused_and_the_rest_built(
    project: Project, incident_id: str, message: str, fields: dict[str, Any]
) -> None:
    assert project.cli("post", "--yes", "--title", "Checkout down", "Checkout is failing.").exit_code == 0
    store_record(project, incident_id, message, **fields)

    result = project.cli("site", "build")

    assert result.exit_code == 3, result.output
    said = " ".join(result.stderr.split())
    assert f"incident {incident_id} was left out of the site" in said
    assert f"refused to publish incidents/{incident_id}.html" in said
    assert not (project.site / "incidents" / f"{incident_id}.html").exists()
    text = site_text(project.site)
    assert "Checkout is failing." in text
    for value in ("Globex", "OPS-4711", "fra-edge-02", "Initech", "Ｇｌｏｂｅｘ"):
        assert value not in text


def test_a_post_with_such_a_record_publishes_its_own_update(project: Project) -> None:
    store_record(project, "customer-named", "Globex Industries sees failures.", customers=("Globex Industries",))

    code = project.cli("post", "--yes", "--title", "Checkout down", "Checkout is failing.").exit_code

    assert code == 3
    index = (project.site / "index.html").read_text()
    assert "Checkout is failing." in index and "Globex" not in index



def test_a_private_span_of_the_title_is_a_private_value_of_the_site(project: Project, tmp_path: Path) -> None:
    """main's private title spans meet fc-site's guard: the title's private part written again in
    the public message (an operator's slip) keeps the page, index, feeds and JSON from publishing it."""
    assert project.cli("post", "--yes", "--title", "Search slow", "Search is slow.").exit_code == 0
    before, site_before = stored(project), site_text(project.site)
    title = ("--title", "Checkout [private]Globex Industries[/private] down")

    result = project.cli("post", "--yes", *title, "Globex Industries sees checkout failures.")

    assert_refused_whole(result, "site")  # the preview would show it refused: so is the post, whole
    assert stored(project) == before and site_text(project.site) == site_before

    # Such an update stored another way (an edited export): the site's own guard leaves it out when it is sent.
    import_unsent(project, tmp_path, "post", *title, "Checkout is failing.",
                  edit=saying("Globex Industries sees checkout failures."))
    result = project.cli("retry")

    assert result.exit_code == 3, result.output
    assert "was left out of the site" in " ".join(result.output.split())
    text = site_text(project.site)
    assert "Search is slow." in text
    assert "Globex" not in text


@pytest.mark.parametrize("customer", ["ACME", "Operational"], ids=["the-page-title", "a-word-of-the-page"])
def test_a_value_the_site_shows_with_no_incident_does_not_take_an_incident_off_it(project: Project, customer: str) -> None:
    """A customer named like the site ("Acme status") or like a word every page shows is the page's
    own word: it counts only where the incident's text adds it (refusing left the incident off the
    page; main's import tests post customer ACME on the Acme page). A private span is still kept out."""
    result = project.cli("post", "--yes", "--title", "API errors", "--ticket", customer,
                         "Errors [private]edge fra-2[/private].")

    assert result.exit_code == 0, result.output
    incident_id = result.output.split()[0]
    assert (project.site / "incidents" / f"{incident_id}.html").is_file()
    assert "Errors" in (project.site / "index.html").read_text()
    assert "fra-2" not in site_text(project.site)


def test_a_customer_named_like_the_site_plus_more_is_still_guarded(project: Project) -> None:
    store_record(project, "acme-corp", "Acme Corp sees errors.", customers=("Acme Corp",))

    result = project.cli("site", "build")

    assert result.exit_code == 3
    assert "incident acme-corp was left out of the site" in " ".join(result.stderr.split())
    assert "Acme Corp" not in site_text(project.site)

# -- uploads --------------------------------------------------------------------------


# A page as the build checked it, the values it was written with, and the text added on disk after.
TAMPERED = {
    "span": (b"<p>Router is down</p>", PrivateValues.of(["fra-edge-02"]), b"<p>Router fra-edge-02 is down</p>"),
    # "Next" was allowed as often as the page showed it ("Next update by"); once more is a leak.
    "own-word": (b"<p>Next update by 15:00</p>", PrivateValues.of(["Next"]), b"<p>Next sees errors.</p>"),
}


def tampered_site(root: Path, case: str) -> tuple[BuiltSite, bytes]:
    """A build whose page was checked, then changed on disk before the upload (another process, a bug)."""
    checked, values, added = TAMPERED[case]
    page = checked + added
    files = {"index.html": b"<p>ok</p>", "incidents/a.html": page}
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    private = {"incidents/a.html": values.allowing(readable_text(checked, "text/html"))}
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()}, private=private), added


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_an_upload_holding_a_private_value_is_refused_by_every_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("HOME", str(tmp_path))  # git without the operator's config
    site, added = tampered_site(tmp_path / "public", case)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    with S3Server() as server:
        server.create_bucket("leak-test")
        hosts = {
            "s3": {"bucket": "leak-test", "region": "us-east-1", "endpoint_url": server.url},
            "git": {"remote": str(remote), "branch": "gh-pages"},
            "directory": {"path": str(tmp_path / "www")},
        }
        for kind, options in hosts.items():
            host = load_host_class(kind)(ChannelConfig(kind, kind, options=options), tmp_path)
            with pytest.raises(DeliveryError) as caught:
                asyncio.run(host.publish(site))
            assert isinstance(caught.value, LeakRefused), (kind, caught.value)
            assert "refused to publish the upload of incidents/a.html" in str(caught.value)
        assert not [k for k in server.objects("leak-test") if k.endswith(".html") and added in server.body("leak-test", k)]
    assert not (tmp_path / "www").exists()
    branches = subprocess.run(["git", "--git-dir", str(remote), "branch", "--list"], capture_output=True, text=True)
    assert branches.stdout == ""
