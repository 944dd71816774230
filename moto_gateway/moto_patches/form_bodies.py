"""Moto 5.2.5: every byte sent is stored. `BackendRequest.want_form_data_parsed` parses a form body
whenever a form Content-Type is sent, so a PUT sent as `application/x-www-form-urlencoded` (what
`curl -d` sends) stored an empty object. Only a POST without a query string (a POST Object upload, or
another service's query-protocol call) is a form; every other request keeps its body.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def wants_form_data(request) -> bool:
    """A body is parsed as a form only for a POST without a query string (POST Object, query protocol)."""
    return (
        bool(request.environ.get("CONTENT_TYPE"))
        and request.environ.get("REQUEST_METHOD", "").upper() == "POST"
        and not request.environ.get("QUERY_STRING")
    )


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.moto_server import werkzeug_app

    werkzeug_app.BackendRequest.want_form_data_parsed = property(wants_form_data)
