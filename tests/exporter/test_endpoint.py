"""Which S3 the exporter mirrors: the probe's pure decision, and the real gateway and a dead port probed."""

import pytest

from exporter.endpoint import EndpointKind, classify, limits_line, probe
from exporter.feed import boot_id_of, parse_health, parse_page
from testkit.servers import free_port

RGW_404 = b'<?xml version="1.0"?><Error><Code>NoSuchBucket</Code><BucketName>_health</BucketName></Error>'


@pytest.mark.parametrize(
    ("health", "moto_api", "kind"),
    [
        ((200, b'{"status": "ok", "boot_id": "b1"}'), None, EndpointKind.GATEWAY),
        ((404, RGW_404), (404, b""), EndpointKind.OTHER),
        ((403, b"<Error><Code>AccessDenied</Code></Error>"), (403, b""), EndpointKind.OTHER),
        ((200, b"<ListBucketResult/>"), (200, b"<ListBucketResult/>"), EndpointKind.OTHER),
        ((200, b'{"boot_id": ""}'), None, EndpointKind.OTHER),
        ((200, b"[1, 2]"), None, EndpointKind.OTHER),
        ((404, b""), (200, b"<html><title>Moto</title></html>"), EndpointKind.MOTO),
        (None, None, EndpointKind.OTHER),
    ],
)
def test_classify(health, moto_api, kind):
    """/_health is read by the gateway client (a non-2xx answer is no answer): its boot id decides first."""
    boot_id = boot_id_of(parse_health(health[1])) if health is not None and health[0] == 200 else None
    assert classify(boot_id, moto_api) is kind


def test_only_other_endpoints_get_a_limits_line():
    assert limits_line(EndpointKind.GATEWAY, "http://moto:5000", 15) is None
    assert limits_line(EndpointKind.MOTO, "http://moto:5000", 15) is None
    line = limits_line(EndpointKind.OTHER, "http://rgw:7480", 15)
    assert "http://rgw:7480 is not Moto" in line and "a full pass every 15 s" in line and "no restore" in line
    assert limits_line(EndpointKind.OTHER, None, 30).startswith("AWS is not Moto")


@pytest.mark.parametrize("body", [RGW_404, b"<html></html>", b"{}", b'{"boot_id": "x"}', b"[]", b"\xff"])
def test_a_body_that_is_not_a_feed_page_means_no_feed(body):
    assert parse_page(body) is None


def test_a_feed_page_parses():
    page = parse_page(b'{"boot_id": "b", "last_seq": 3, "gap": false, "events": []}')
    assert (page.boot_id, page.last_seq, page.gap, page.events) == ("b", 3, False, [])


def test_probe_the_gateway_and_a_port_nobody_listens_on(moto_server):
    assert probe(moto_server.url) is EndpointKind.GATEWAY
    assert probe(f"http://127.0.0.1:{free_port()}") is EndpointKind.OTHER
    assert probe(None) is EndpointKind.OTHER
