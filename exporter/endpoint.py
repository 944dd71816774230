"""Which kind of S3 the exporter mirrors: our gateway, plain Moto, or any other S3 (AWS, Ceph RGW, MinIO).

Two things exist only on Moto: the gateway's change feed (`/_changes`, with `/_health`'s boot id), and a
restart that empties the store, which the exporter undoes by restoring from the mirror. On any other S3
a bucket that disappears was deleted by its owner, and putting it back would undo their decision, so
the exporter only polls and mirrors there. The kind is probed once at start; a probe that fails in any
way (403, 404, an XML error, not JSON, no answer) simply means "not that kind", never an error.
`/_health` is read by the exporter's one client of the gateway's routes (`feed.GatewayClient`).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from enum import Enum

from exporter.feed import GatewayClient

log = logging.getLogger("exporter")

PROBE_TIMEOUT = 3.0


class EndpointKind(Enum):
    GATEWAY = "the motostack gateway"
    MOTO = "plain Moto"
    OTHER = "an S3 that is not Moto"

    @property
    def is_moto(self) -> bool:
        """Moto behind the gateway or not: restarts empty it, so a restore from the mirror applies."""
        return self is not EndpointKind.OTHER


def classify(boot_id: str | None, moto_api: tuple[int, bytes] | None) -> EndpointKind:
    """The kind from the boot id /_health gave (None: none) and what GET /moto-api/ answered (status,
    body; None for no answer)."""
    if boot_id:
        return EndpointKind.GATEWAY
    if moto_api is not None and moto_api[0] == 200 and b"moto" in moto_api[1].lower():
        return EndpointKind.MOTO
    return EndpointKind.OTHER


def _get(url: str) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:
            return response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (OSError, ValueError):
        return None


def probe(endpoint_url: str | None, gateway: GatewayClient | None = None) -> EndpointKind:
    """Ask the endpoint what it is (its /_health through `gateway`, the exporter's client of the gateway's
    routes); no endpoint (real AWS) is OTHER without asking."""
    if not endpoint_url:
        return EndpointKind.OTHER
    boot_id = (gateway or GatewayClient(endpoint_url)).current_boot_id()
    return classify(boot_id, None if boot_id else _get(f"{endpoint_url}/moto-api/"))


def limits_line(kind: EndpointKind, endpoint_url: str | None, interval: float) -> str | None:
    """What does not apply on this endpoint, said once at start; None on Moto, where everything does."""
    if kind.is_moto:
        return None
    where = endpoint_url or "AWS"
    return (
        f"{where} is not Moto: no change feed (a full pass every {interval:g} s) and no restore from the "
        "mirror (a bucket that disappears there was deleted by its owner)"
    )
