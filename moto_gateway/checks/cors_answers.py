"""S3's CORS headers on actual (not preflight) requests: only where a rule of the bucket's CORS configuration
matches the request's origin and method.

Moto answers every request that carries an `Origin` with `Access-Control-Allow-Origin: <origin>` (flask-cors
on its whole app), whatever the bucket's CORS configuration, and the gateway's own refusals did the same: a
browser app that works here could be refused by S3's CORS. S3 (API Reference, "Common Response Headers";
User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?") evaluates the bucket's rules
for every request with an `Origin`: the first rule whose AllowedOrigin matches the origin and whose
AllowedMethod is the request's method gives `Access-Control-Allow-Origin` (the origin, or `*` when the rule's
origin is `*`), `Access-Control-Allow-Methods`, `Access-Control-Expose-Headers` and `Access-Control-Max-Age`
when the rule has them, `Access-Control-Allow-Credentials: true` unless the origin is `*`, and `Vary`; no
matching rule (or no configuration) gives none of them. The request itself is served either way.

`CorsAnswers` wraps the whole gateway, so S3 answers, the gateway's refusals and injected faults alike carry
exactly these headers. Preflights (OPTIONS) are answered by the CORS rules already (`moto_patches.cors_rules`,
the conformance layer); the gateway's own `/_...` paths and Moto's are not S3 and keep their headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from moto_gateway.checks.conformance.rules import wildcard_match
from moto_gateway.state.s3state import find_bucket
from moto_gateway.wsgi.request import RequestView
from moto_gateway.wsgi.services import MOTO_OWN_PATHS, is_other_service

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@dataclass(frozen=True)
class ActualRule:
    """What of a CORS rule an actual request's answer uses."""

    origins: Sequence[str]
    methods: Sequence[str]
    expose: Sequence[str] = ()
    max_age: int | None = None


def matching_rule(rules: Sequence[ActualRule], origin: str, method: str) -> ActualRule | None:
    """The first rule allowing this origin and method (S3 evaluates the rules in order)."""
    for rule in rules:
        if method in rule.methods and any(wildcard_match(o, origin) for o in rule.origins):
            return rule
    return None


def cors_headers(rule: ActualRule | None, origin: str) -> list[tuple[str, str]]:
    """The CORS headers S3 adds to an actual request's answer."""
    if rule is None:
        return []
    allowed = "*" if "*" in rule.origins else origin
    headers = [
        ("Access-Control-Allow-Origin", allowed),
        ("Access-Control-Allow-Methods", ", ".join(rule.methods)),
    ]
    if rule.expose:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose)))
    if rule.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(rule.max_age)))
    if allowed != "*":
        headers.append(("Access-Control-Allow-Credentials", "true"))
    headers.append(("Vary", VARY))
    return headers


def without_cors(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The answer's headers without the CORS headers Moto or a layer put there (and their `Vary: Origin`)."""
    return [
        (name, value)
        for name, value in headers
        if not name.lower().startswith("access-control-")
        and not (name.lower() == "vary" and value.strip().lower() == "origin")
    ]


def bucket_rules(bucket_name: str | None) -> list[ActualRule]:
    bucket, _account_id = find_bucket(bucket_name)
    return [
        ActualRule(
            tuple(rule.allowed_origins or ()),
            tuple(rule.allowed_methods or ()),
            tuple(rule.exposed_headers or ()),
            int(rule.max_age_seconds) if str(rule.max_age_seconds or "").isdigit() else None,
        )
        for rule in (getattr(bucket, "cors", None) or [])
    ]


def is_actual_s3_request(environ: dict) -> bool:
    path = environ.get("PATH_INFO", "")
    return (
        "HTTP_ORIGIN" in environ
        and environ.get("REQUEST_METHOD") != "OPTIONS"
        and not path.startswith("/_")
        and not path.startswith(MOTO_OWN_PATHS)
        and not is_other_service(environ)
    )


class CorsAnswers:
    """WSGI layer: an actual S3 request's answer carries the CORS headers its bucket's rules give, no
    others."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not is_actual_s3_request(environ):
            return self.app(environ, start_response)
        view = RequestView.from_environ(environ)
        origin = environ["HTTP_ORIGIN"]
        added = cors_headers(matching_rule(bucket_rules(view.addressing.bucket), origin, view.method), origin)

        def start(status: str, headers: list, exc_info=None):
            return start_response(status, without_cors(headers) + added, exc_info)

        return self.app(environ, start)
