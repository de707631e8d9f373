"""A put of the light client that a kept connection's drop makes it send again on a new one looks at the publish's
stop first: after the deadline (or Ctrl-C) no new request leaves, as everywhere else in a publish (``_check_stop``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from broadcaster.site.hosts import _s3_light
from broadcaster.site.hosts.s3 import _LightAccess, _LightClient, _Stopped
from tests.test_s3_light import AnswersOnceEach

KEYS = _s3_light.Keys("AKIDEXAMPLE", "s3cr3t")


def _no_boto() -> Any:
    raise AssertionError("boto3 was asked to send a put after the stop")


def test_a_put_whose_kept_connection_dropped_after_the_stop_is_not_sent_again_on_a_new_one() -> None:
    server = AnswersOnceEach()
    access = _LightAccess(endpoint_url=server.url, region="us-east-1", bucket="b", keys=KEYS)
    client = _LightClient(access, _no_boto, _s3_light.Connections(server.url, 5, None))
    client.stop = threading.Event()
    request = {"Bucket": "b", "ContentType": "text/html", "CacheControl": "public, max-age=60"}
    try:
        assert client.put_object(**request, Key="one.html", Body=b"1") == {"ETag": '"e0"'}
        assert server.closed.acquire(timeout=5)  # the server has closed it; the client kept it
        client.stop.set()  # cancelled: the next put finds its kept connection dropped
        with pytest.raises(_Stopped) as stopped:
            client.put_object(**request, Key="two.html", Body=b"2")
    finally:
        client.close()
        server.close()
    assert "stopped" in str(stopped.value)
    assert server.accepted == 1 and server.answered == 1, "a put left on a new connection after the stop"
