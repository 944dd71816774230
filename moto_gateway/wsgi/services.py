"""What a request is for: S3, Moto's own paths, or another AWS service Moto also serves.

The one test of "is this an S3 request" every layer asks (the dispatch to Moto, the fast paths, the checks,
access): decided from the path and headers alone, never the body.
"""

from __future__ import annotations

MOTO_OWN_PATHS = ("/moto-api", "/favicon.ico")  # Moto's dashboard and reset API, not S3: no layer checks them
# CORS preflights carry no credentials, even for a presigned URL: S3 answers them from the CORS rules.
UNCHECKED_METHODS = frozenset({"OPTIONS"})
MOTO_PATH_PREFIXES = (*MOTO_OWN_PATHS, "/latest/", "/v20180820/")  # and instance metadata, s3control


def signing_service(authorization: str) -> str | None:
    """The service a SigV4 Authorization header is scoped to; "s3" for SigV2 (`AWS key:sig`); else None."""
    if authorization.startswith("AWS "):
        return "s3"
    if not authorization.startswith("AWS4-"):
        return None
    try:
        scope = authorization.split(",", 1)[0].split()[1]
        _, _, _, service, _ = scope.split("/")
    except (IndexError, ValueError):
        return None
    return service.lower()


def is_s3_request(environ: dict) -> bool:
    """True when Moto's dispatcher would hand this request to S3: decided from headers and path alone."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(MOTO_PATH_PREFIXES) or "HTTP_X_AMZ_TARGET" in environ:
        return False
    if "s3-control" in environ.get("HTTP_HOST", ""):
        return False
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        return signing_service(authorization) == "s3"
    # Unsigned: Moto would read a form body for an Action, look for Cognito's well-known paths, and read a
    # first path segment `service_region` (no bucket name contains '_'); none of those is S3.
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return False
    first_segment = path[1:].split("/", 1)[0]
    return "_" not in first_segment and "/.well-known/" not in path


def signed_for_other_service(authorization: str) -> bool:
    """An Authorization header scoped to another AWS service Moto also serves (sts, iam, ...)."""
    return bool(authorization) and signing_service(authorization) not in ("s3", None)


def is_other_service(environ: dict) -> bool:
    """Certainly not S3: signed for another service, or a JSON-protocol call (X-Amz-Target)."""
    if "HTTP_X_AMZ_TARGET" in environ:
        return True
    return signed_for_other_service(environ.get("HTTP_AUTHORIZATION", ""))
