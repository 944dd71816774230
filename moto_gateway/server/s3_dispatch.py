"""S3 requests go straight to Moto's S3 application; every other request takes Moto's own dispatcher.

Moto's `DomainDispatcherApplication` picks the service per request under one global lock, and on the way
lists Moto's module folders from disk (`backends.list_of_moto_modules`): about a third of the process's
CPU for a small GET. It decides from the path, the `Authorization` credential scope, `X-Amz-Target` and,
for unsigned form posts, the body; S3 is its default. `is_s3_request` answers "S3" only where that
dispatcher would certainly answer S3 too, and says "ask Moto" otherwise, so `/moto-api/`, instance
metadata, s3control and any other service Moto emulates keep working as in bare Moto. Both paths share
the one S3 application instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

S3_BACKEND = "s3"
MOTO_PATH_PREFIXES = ("/moto-api", "/favicon.ico", "/latest/", "/v20180820/")


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


def is_other_service(environ: dict) -> bool:
    """Certainly not S3: signed for another service, or a JSON-protocol call (X-Amz-Target)."""
    if "HTTP_X_AMZ_TARGET" in environ:
        return True
    authorization = environ.get("HTTP_AUTHORIZATION")
    return bool(authorization) and signing_service(authorization) not in ("s3", None)


class S3FirstDispatcher:
    """WSGI app: Moto's S3 app for S3 requests, built once; Moto's dispatcher for the rest."""

    def __init__(self, create_app: Callable = create_backend_app) -> None:
        self.moto = DomainDispatcherApplication(create_app)
        self.s3 = create_app(S3_BACKEND)
        self.moto.app_instances[S3_BACKEND] = self.s3

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if is_s3_request(environ):
            return self.s3(environ, start_response)
        return self.moto(environ, start_response)
