"""A customer added to the config makes its name private from then on, on pages built before too.

A page the site builder finds unchanged (the same bytes from the same version of its record)
is not checked by the egress guard again: it was checked when it was written. That holds only
while the private values are worked out as they were then, and a page's values also hold every
customer's name from the config. So after a customer is added, every page is built and checked
again (a full build or a post alike), and a page that would now show private detail is taken out
of the site and off every target it was published to, as well as out of the links to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Incident

from broadcaster.site.output import MANIFEST
from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Server

NAME = "Globex Industries"
BUCKET = "acme-status"
TOKEN = "acme-feed-token-0123456789abcdef"
CUSTOMERS = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"
"""
GLOBEX = f"""
[audiences.globex]
name = "{NAME}"
components = ["db"]
"""
MIRROR = """
[publish.mirror]
type = "directory"
path = "mirror"
"""


def post(project: Project, *args: str) -> str:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["incident_id"])


def files_holding(folder: Path, text: str) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes())


def published_with_the_name(project: Project) -> str:
    """A public incident that names a company, published while it is not yet a customer."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + MIRROR)
    incident = post(project, "--title", "Slow exports", "-C", "api", f"Exports for {NAME} are slow.")
    assert files_holding(project.root / "mirror", NAME)  # public until then, as the operator wrote it
    assert files_holding(project.site / "a" / TOKEN, NAME)  # Acme's page shows the public text too
    project.write_config(CUSTOMERS + GLOBEX + MIRROR)
    return incident


def test_a_full_build_takes_out_a_page_that_now_names_a_customer_and_the_publish_deletes_it(project: Project) -> None:
    incident = published_with_the_name(project)

    built = project.cli("site", "build")

    assert built.exit_code == 3, built.output
    assert f"incident {incident} was left out of the site" in built.stderr
    assert files_holding(project.site, NAME) == []
    assert not (project.site / "incidents" / f"{incident}.html").exists()
    assert f"incidents/{incident}.html" not in (project.site / MANIFEST).read_text(encoding="utf-8")
    assert (project.site / "a" / TOKEN / "index.html").is_file()  # Acme's page, built again without it

    published = project.cli("site", "publish")

    assert published.exit_code == 3, published.output
    assert files_holding(project.root / "mirror", NAME) == []


def test_a_customers_page_that_now_names_another_customer_is_built_again_without_that_incident(
    project: Project,
) -> None:
    """Acme was told of its peering with Globex, then Globex became a customer: Acme's page may no
    longer name it. Its last version was checked against other values, so it is not kept: the page is
    built again without that incident (named), and Acme's other incidents stay on it."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + MIRROR)
    peering = post(project, "--title", "Peering issues", "-C", "api", "--for", "acme",
                   f"Your peering with {NAME} is down.", "Some traffic is slow.")
    other = post(project, "--title", "Slow logins", "-C", "api", "Logins are slow.")
    assert files_holding(project.site / "a" / TOKEN, NAME)
    project.write_config(CUSTOMERS + GLOBEX + MIRROR)

    built = project.cli("site", "build")

    assert built.exit_code == 3, built.output
    assert f"incident {peering} was left out of the private page of audience acme" in built.stderr
    assert files_holding(project.site, NAME) == []
    page = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert other in page and peering not in page
    assert project.cli("site", "publish").exit_code == 3
    assert files_holding(project.root / "mirror", NAME) == []
    assert files_holding(project.root / "mirror", NAME) == []


def test_a_post_after_the_change_checks_every_page_again(project: Project) -> None:
    incident = published_with_the_name(project)

    result = project.cli("post", "--yes", "--json", "--title", "Login errors", "-C", "web", "Logins fail for some.")

    assert result.exit_code == 3, result.output
    assert f"incident {incident} was left out of the site" in result.output
    assert files_holding(project.site, NAME) == []
    assert files_holding(project.root / "mirror", NAME) == []


def test_without_a_change_an_unchanged_page_is_not_checked_again(project: Project) -> None:
    """The guard's skip still holds when nothing it depends on changed: the rebuild is quiet."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + GLOBEX)
    post(project, "--title", "Slow exports", "-C", "api", "Exports are slow.")

    first, again = project.cli("site", "build"), project.cli("site", "build")

    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    manifest = json.loads((project.site / MANIFEST).read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(manifest["guarded_with"], str) and len(manifest["guarded_with"]) == 32


def test_a_refused_page_the_manifest_does_not_name_is_taken_out_of_the_folder_too(project: Project) -> None:
    """A web server pointed at the folder serves whatever is there: a page a failed or interrupted
    build left on disk, named by no manifest, goes as well when it is refused."""
    incident = published_with_the_name(project)
    (project.site / MANIFEST).unlink()  # the folder's files are on disk, named by no manifest

    assert project.cli("site", "build").exit_code == 3

    assert not (project.site / "incidents" / f"{incident}.html").exists()
    assert files_holding(project.site, NAME) == []


def test_the_old_page_of_an_incident_left_out_goes_from_the_bucket_even_if_a_later_post_publishes_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incident that can no longer be shown (here its record cannot be cut into a view) keeps its
    last page while nothing it depends on changes. After a customer is added, that page cannot be
    vouched for: the build that sees the change takes it out of the folder, and the bucket deletes
    it at its next publish, even when that build did not publish to it (``--skip bucket``)."""
    from broadcaster.site import source

    with S3Server() as s3:
        s3.create_bucket(BUCKET)
        project.env.update(PUBLISH_ENV)
        project.write_config(s3.publish_toml(BUCKET))
        incident = post(project, "--title", "Slow exports", "-C", "api", f"Exports for {NAME} are slow.")
        assert NAME.encode() in s3.body(BUCKET, f"incidents/{incident}.html")
        from broadcaster.messages.visibility import public_incident as cut  # what source calls

        def cannot_be_cut(record: Incident, *args: Any, **kwargs: Any) -> Any:
            if record.id == incident:
                raise OverflowError("a time no calendar can print")
            return cut(record, *args, **kwargs)

        monkeypatch.setattr(source, "public_incident", cannot_be_cut)
        project.write_config(s3.publish_toml(BUCKET) + GLOBEX)

        assert project.cli("post", "--yes", "--skip", "bucket", "--title", "Login errors", "Logins fail.").exit_code == 3
        assert project.cli("post", "--yes", "--title", "Search errors", "Searches fail.").exit_code == 3

        assert f"incidents/{incident}.html" not in s3.objects(BUCKET)
        assert not [key for key in s3.objects(BUCKET) if NAME.encode() in s3.body(BUCKET, key)]


def test_the_key_changes_with_the_rules_that_work_the_values_out_not_with_the_version_alone(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that changes what counts as private must have every page checked again; the
    package's version is not bumped for each change, so the rules' code itself is in the key."""
    from broadcaster.messages import visibility

    from broadcaster import config_loader
    from broadcaster.site import source

    config = config_loader.load(str(project.config))
    before = source.guard_key(config)
    changed = tmp_path / "visibility.py"
    changed.write_bytes(Path(str(visibility.__file__)).read_bytes() + b"\nMIN_GUARDED_LENGTH = 2\n")
    monkeypatch.setattr(visibility, "__file__", str(changed))
    source._guard_rules.cache_clear()
    try:
        assert source.guard_key(config) != before
    finally:
        monkeypatch.undo()
        source._guard_rules.cache_clear()
    assert source.guard_key(config) == before


def test_the_key_is_made_even_where_the_rules_code_cannot_be_read(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zipped or frozen install may have no source to read: the key falls back to the version."""
    from broadcaster.messages import visibility

    from broadcaster import config_loader
    from broadcaster.site import source

    monkeypatch.setattr(visibility, "__loader__", object())
    source._guard_rules.cache_clear()
    try:
        key = source.guard_key(config_loader.load(str(project.config)))
        assert len(key) == 32 and int(key, 16) >= 0
        assert project.cli("site", "build").exit_code == 0
    finally:
        monkeypatch.undo()
        source._guard_rules.cache_clear()


# -- customer pages: found by a hostile review of the site -------------------------------------------

ALSO_ON_API = f"""
[audiences.globex]
name = "{NAME}"
components = ["api"]
"""


def _acme_page(project: Project) -> str:
    return (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")


def test_an_incident_withdrawn_after_a_customers_page_was_refused_leaves_that_page(project: Project) -> None:
    """One incident naming another customer in Acme's detail had frozen Acme's page as last built: an
    incident withdrawn after that stayed on it, and in its feeds, for good."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + ALSO_ON_API)
    wrong = post(project, "--title", "Wrong post", "-C", "api", "--for", "acme", "Posted to the wrong place.", "Oops.")
    naming = project.cli("post", "--yes", "--title", "API slow", "-C", "api", "--for", "acme",
                         f"Call the {NAME} NOC.", "Slow API.")
    assert naming.exit_code in (2, 3), naming.output  # refused, or left out of Acme's page: never shown there
    withdrawn = project.cli("withdraw", "--yes", wrong, "--reason", "duplicate of another post")

    assert withdrawn.exit_code in (0, 3), withdrawn.output
    assert files_holding(project.site / "a" / TOKEN, "Wrong post") == []
    assert files_holding(project.site / "a" / TOKEN, "wrong place") == []
    assert files_holding(project.site, NAME) == []


def test_a_customer_named_like_a_word_the_page_prints_leaves_the_other_pages_alone(project: Project) -> None:
    """A customer called "Atom" (the feed link's label): every post had failed Acme's page, for good."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + '\n[audiences.atom]\nname = "Atom"\ncomponents = ["db"]\n')
    incident = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit is rerouted.",
                    "Errors.")

    assert incident in _acme_page(project) and "Your circuit is rerouted." in _acme_page(project)
    assert project.cli("site", "build").exit_code == 0


def test_the_same_sentence_for_two_customers_keeps_both_pages(project: Project) -> None:
    """Acme's own detail, given to Globex too in a later update: Acme may read it, on its own page."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.env["GLOBEX_FEED_TOKEN"] = TOKEN.replace("acme", "glob")
    project.write_config(CUSTOMERS + ALSO_ON_API.replace('components = ["api"]', 'components = ["api"]\n'
                                                         'feed_token = "${GLOBEX_FEED_TOKEN}"'))
    sentence = "Your traffic is rerouted via Frankfurt."
    incident = post(project, "--title", "API errors", "-C", "api", "--for", "acme", sentence, "Errors.")
    later = project.cli("post", "--yes", "-i", incident, "--for", "globex", sentence, "Still errors.")

    assert later.exit_code == 0, later.output
    assert files_holding(project.site / "a" / TOKEN, sentence) == ["atom.xml", "feed.xml"]
    assert files_holding(project.site / "a" / TOKEN.replace("acme", "glob"), sentence) == ["atom.xml", "feed.xml", "index.html"]
    assert project.cli("site", "build").exit_code == 0


def test_a_customers_page_shows_the_state_of_every_component_and_links_their_feeds(project: Project) -> None:
    """Acme's page said "All systems operational" while the database was down for everyone, and linked
    each component's feeds beside itself, where there are none."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS)
    post(project, "--title", "Database down", "-C", "db=major_outage", "The database is down.")

    public, acme = (project.site / "index.html").read_text(encoding="utf-8"), _acme_page(project)
    banner = re.compile(r'<section class="overall[^"]*".*?</h2>', re.S)
    shown = [banner.search(page) for page in (public, acme)]
    assert shown[0] is not None and shown[1] is not None and shown[0].group(0) == shown[1].group(0)
    assert "All systems operational" not in acme
    feeds = re.findall(r'href="([^"]*components/[^"]*atom\.xml)"', acme)
    assert feeds and all(f.startswith("../../components/") for f in feeds)
    assert all((project.site / "a" / TOKEN / f).resolve().is_file() for f in feeds)


def test_a_post_a_customers_page_would_leave_out_is_refused_before_anything_is_stored(project: Project) -> None:
    """Acme has a page and no channel: its detail naming another customer was stored, then left out of the
    page (exit 3, half published). The preview now checks the page as Acme's own channel would be checked."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + ALSO_ON_API)
    incident = post(project, "--title", "API slow", "-C", "api", "Slow API.")

    result = project.cli("post", "--yes", "-i", incident, "--for", "acme", f"Call the {NAME} NOC.", "Still slow.")

    assert result.exit_code == 2, result.output
    assert "site" in result.stderr and "REFUSED" in result.stdout + result.stderr
    assert json.loads(project.cli("show", incident, "--json").stdout)["updates"][-1]["sequence"] == 1
    assert files_holding(project.site, NAME) == []
    shown = project.cli("preview", "-i", incident, "--for", "acme", f"Call the {NAME} NOC.", "Still slow.")
    assert shown.exit_code == 2 and "the private page of audience acme" in shown.stdout


def test_an_incident_whose_id_names_a_customer_added_since_still_leaves_the_site(project: Project) -> None:
    """The leave-out loop lets an incident stay when only another incident's text holds its value (customer
    pages forbid every other customer's name in all their incidents alike); it must still leave out one
    whose own id holds it: "globex-peering-down-..." was named when Globex was no customer."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS)
    incident = post(project, "--title", "Globex peering down", "-C", "api", "Peering is down.")
    assert project.cli("post", "--yes", "-i", incident, "--title", "Peering down", "Still down.").exit_code == 0
    project.write_config(CUSTOMERS + '\n[audiences.globex]\nname = "Globex"\ncomponents = ["db"]\n')

    built = project.cli("site", "build")

    assert built.exit_code == 3 and f"incident {incident} was left out of the site" in built.stderr, built.output
    public = [p for p in files_holding(project.site, "globex") if not p.startswith("a/")]
    assert public == [], public


@pytest.mark.parametrize("reader", ["public", "acme"])
def test_an_update_whose_text_holds_an_earlier_updates_detail_is_refused_before_it_is_stored(
    project: Project, reader: str
) -> None:
    """A review: update 1 gave Globex "Frankfurt POP"; update 2's text (public, or Acme's detail) said it.
    Preview passed, post stored it, and the build left the whole incident out of the page (exit 3): the site
    guards each page against every update's values, the preview checked this update's only."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(CUSTOMERS + ALSO_ON_API)
    incident = post(project, "--title", "Network trouble", "-C", "api", "--for", "globex", "Frankfurt POP",
                    "Some traffic is slow.")
    said = "Traffic now goes via Frankfurt POP."
    args = ["-i", incident, said] if reader == "public" else ["-i", incident, "--for", "acme", said, "Still slow."]

    previewed = project.cli("preview", *args)
    posted = project.cli("post", "--yes", *args)

    assert previewed.exit_code == 2 and posted.exit_code == 2, previewed.output + posted.output
    assert "REFUSED" in previewed.stdout
    assert json.loads(project.cli("show", incident, "--json").stdout)["updates"][-1]["sequence"] == 1
    assert incident in (project.site / "index.html").read_text(encoding="utf-8")
    assert incident in _acme_page(project)


def test_a_new_private_detail_an_earlier_public_text_holds_is_refused_before_it_takes_the_page(
    project: Project,
) -> None:
    """A review: update 1 said "the Frankfurt POP" in public; update 2 gave "Frankfurt POP" as --private. Preview
    passed, post stored it, and the build took the whole incident off the page mid-outage (exit 3)."""
    project.write_config(CUSTOMERS.replace('feed_token = "${ACME_FEED_TOKEN}"\n', ""))
    incident = post(project, "--title", "Network trouble", "-C", "api", "Traffic through the Frankfurt POP is slow.")
    args = ["-i", incident, "-s", "identified", "--private", "Frankfurt POP", "Cause found."]

    previewed = project.cli("preview", *args)
    posted = project.cli("post", "--yes", *args)

    assert previewed.exit_code == 2 and "the incident's page" in previewed.stdout, previewed.output
    assert posted.exit_code == 2, posted.output
    assert len(json.loads(project.cli("show", incident, "--json").stdout)["updates"]) == 1
    assert incident in (project.site / "index.html").read_text(encoding="utf-8")


def test_an_update_that_adds_nothing_private_is_not_refused_for_a_page_already_off_the_site(project: Project) -> None:
    """A review: Globex added as a customer after an update named it; every later update (a fix, a resolve, the
    amend that would take the name out) was refused by the preview's page check, channels and all. This update
    makes the page no worse: it goes, and the site leaves the incident out as before (exit 3, named)."""
    project.write_config(CUSTOMERS.replace('feed_token = "${ACME_FEED_TOKEN}"\n', ""))
    incident = post(project, "--title", "Slow exports", "-C", "api", f"Exports for {NAME} are slow.")
    project.write_config(CUSTOMERS.replace('feed_token = "${ACME_FEED_TOKEN}"\n', "") + GLOBEX)

    later = project.cli("post", "--yes", "-i", incident, "-s", "monitoring", "A fix is deployed.")
    amended = project.cli("amend", "--yes", incident, "1", "Exports are slow.")

    assert later.exit_code == 3 and "was left out of the site" in later.output, later.output
    assert amended.exit_code == 0, amended.output  # the name gone: the incident is back on the page
    assert incident in (project.site / "index.html").read_text(encoding="utf-8")
    assert files_holding(project.site, NAME) == []


@pytest.mark.parametrize("said", ["Traffic through the Frankfurt&nbsp;POP is slow.",
                                  "Traffic through [our POP](https://maps.example.com/Frankfurt%20POP) is slow."],
                         ids=["entity", "percent-escape"])
def test_the_page_check_reads_earlier_texts_as_the_page_shows_them(project: Project, said: str) -> None:
    """A review: the plain search before the page check read markdown as typed, and missed a private value the
    page shows through an entity or a percent-escape: the post was stored, then the incident left the page."""
    project.write_config(CUSTOMERS.replace('feed_token = "${ACME_FEED_TOKEN}"\n', ""))
    incident = post(project, "--title", "Network trouble", "-C", "api", said)

    posted = project.cli("post", "--yes", "-i", incident, "--private", "Frankfurt POP", "Cause found.")

    assert posted.exit_code == 2 and "REFUSED" in posted.stdout and "skipped:" not in posted.stdout, posted.output
    assert incident in (project.site / "index.html").read_text(encoding="utf-8")
