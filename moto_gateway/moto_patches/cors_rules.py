"""Moto 5.2.5: CORS answers from the first rule that matches, as S3 evaluates a bucket's CORS configuration
(S3 User Guide, "How does Amazon S3 evaluate the CORS configuration on a bucket?": "Amazon S3 ... uses the
first CORSRule rule that matches the incoming browser request").

Moto's `S3Response._set_cors_headers_options` walked every rule, raised AccessForbidden on the first rule
whose origins did not match (so a second rule could never allow anything) and let later rules overwrite the
headers of earlier ones; `cors_matches_origin` matched a prefix (`http://*.example.com` allowed
`http://a.example.com.evil.test`) and read `?`, `+`, `(` ... as regular expression syntax. Here an origin
pattern must match the whole origin, `*` being its only wildcard; a preflight takes the first rule whose
origin, method and every requested header match, and answers with that rule's headers.
"""

from __future__ import annotations

import re

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def cors_matches_origin(origin_header: str, allowed_origins: list[str]) -> bool:
    return any(wildcard_match(allowed, origin_header or "") for allowed in allowed_origins)


def first_matching_rule(rules, origin: str, method: str, requested_headers: str):
    wanted = [h.strip() for h in requested_headers.split(",") if h.strip()]
    for rule in rules:
        if not cors_matches_origin(origin, rule.allowed_origins or []):
            continue
        if method and method not in (rule.allowed_methods or []):
            continue
        allowed_headers = rule.allowed_headers or []
        if all(any(wildcard_match(a, h, ignore_case=True) for a in allowed_headers) for h in wanted):
            return rule
    return None


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3 import responses, utils
    from moto.s3.exceptions import AccessForbidden
    from moto.s3.responses import S3Response

    if getattr(S3Response._set_cors_headers_options, "motostack_patched", False):
        return

    def set_cors_headers_options(self, headers, bucket) -> None:
        if not bucket.cors:
            return  # as Moto answers a bucket without CORS rules (S3: 403; the gateway decides that)
        origin = headers.get("Origin") or ""
        method = headers.get("Access-Control-Request-Method") or ""
        requested = headers.get("Access-Control-Request-Headers") or ""
        rule = first_matching_rule(bucket.cors, origin, method, requested)
        if rule is None:
            raise AccessForbidden(
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                "are not whitelisted by the resource's CORS spec."
            )
        self.response_headers["Access-Control-Allow-Origin"] = origin
        self.response_headers["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods or [])
        if requested:
            self.response_headers["Access-Control-Allow-Headers"] = requested
        if rule.exposed_headers:
            self.response_headers["Access-Control-Expose-Headers"] = ", ".join(rule.exposed_headers)
        if rule.max_age_seconds is not None:
            self.response_headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)

    set_cors_headers_options.motostack_patched = True
    S3Response._set_cors_headers_options = set_cors_headers_options
    utils.cors_matches_origin = cors_matches_origin
    responses.cors_matches_origin = cors_matches_origin
