"""S3 requests go straight to Moto's S3 application; every other request takes Moto's own dispatcher.

Moto's `DomainDispatcherApplication` picks the service per request under one global lock, and on the way
lists Moto's module folders from disk (`backends.list_of_moto_modules`): about a third of the process's
CPU for a small GET. It decides from the path, the `Authorization` credential scope, `X-Amz-Target` and,
for unsigned form posts, the body; S3 is its default. `is_s3_request` (wsgi/services.py) answers "S3"
only where that dispatcher would certainly answer S3 too, and says "ask Moto" otherwise, so `/moto-api/`,
instance metadata, s3control and any other service Moto emulates keep working as in bare Moto. Both paths
share the one S3 application instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from moto_gateway.wsgi.services import is_s3_request

S3_BACKEND = "s3"


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
