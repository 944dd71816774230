"""Moto 5.2.5: two corrections to how Moto's HTTP front routes a request.

1. Object keys may hold any character, newline included (S3 User Guide, "Naming Amazon S3 objects"): Moto
   routes keys with the regex `.+`, which stops at a newline, so `k\\n` answered 404. Its route regexes
   (`moto.moto_server.utilities.RegexConverter`) are made to match newlines too.
2. A request Moto's dispatcher cannot attribute to a service (`DomainDispatcherApplication.get_application`
   guesses from odd paths and headers, and failed with a 500) goes to S3, the service this endpoint serves.
"""

from __future__ import annotations

import logging

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
log = logging.getLogger("moto_gateway")


def get_application_or_s3(original, werkzeug_app):
    def get_application(self, environ):
        try:
            return original(self, environ)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            log.debug("no service inferred for %s; serving it as S3", environ.get("PATH_INFO", ""))
        service, region = werkzeug_app.DEFAULT_SERVICE_REGION
        with self.lock:
            backend = self.get_backend_for_host(f"{service}.{region}.amazonaws.com")
            app = self.app_instances.get(backend)
            if app is None:
                app = self.create_app(backend)
                self.app_instances[backend] = app
            return app

    get_application.motostack_patched = True
    return get_application


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.moto_server import werkzeug_app
    from moto.moto_server.utilities import RegexConverter

    class DotAllRegexConverter(RegexConverter):
        """Moto's route converter, with `.` matching a newline too (a key such as `a\\nb`)."""

        def __init__(self, url_map, *items):
            super().__init__(url_map, *items)
            self.regex = f"(?s:{self.regex})"

    dispatcher = werkzeug_app.DomainDispatcherApplication
    if getattr(dispatcher.get_application, "motostack_patched", False):
        return
    werkzeug_app.RegexConverter = DotAllRegexConverter
    dispatcher.get_application = get_application_or_s3(dispatcher.get_application, werkzeug_app)
