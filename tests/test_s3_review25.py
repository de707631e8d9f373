"""Review 25 of be5b8d4: a page created ahead that the egress guard refuses (nothing sent) comes back as a plain DeliveryError
naming it 'sent ... may be there', and is recorded in doubt, since be5b8d4 added
``fresh.paths - made_ahead - done.files`` to ``unnamed`` whatever the failure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from broadcaster.messages.egress import LeakRefused, PrivateValues

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture
from tests.test_s3_stop_doubts import LATER, NEW_PAGE, _clear, _host


def test_a_page_created_ahead_refused_for_private_detail_keeps_leak_refused_and_is_not_in_doubt(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    site = write_site(tmp_path / "two", LATER, generation=6)
    site = replace(site, private={NEW_PAGE: PrivateValues.of(["circuits"])})
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6, times=1))  # the warm-up's read: created ahead
    try:
        host.warm_up()
        with pytest.raises(DeliveryError) as caught:
            publish(host, site)
    finally:
        _clear(s3)
    assert not [r for r in s3.received("PUT") if r.path.endswith(NEW_PAGE)], "set-up: nothing of it was sent"
    assert isinstance(caught.value, LeakRefused), str(caught.value)
    assert "may be there" not in str(caught.value), str(caught.value)
    assert NEW_PAGE not in host.local_copy.in_doubt()
