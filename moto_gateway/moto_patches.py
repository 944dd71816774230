"""Corrections to Moto's HTTP front (written against moto 5.2.5), applied once before the app is built.

1. Object keys may hold any character, newline included: Moto routes keys with the regex `.+`, which
   stops at a newline, so `k\\n` answered 404. Its route regexes are made to match newlines too.
2. Every byte sent is stored: Moto's request parses a form body whenever a form Content-Type is sent,
   so a PUT sent as `application/x-www-form-urlencoded` (what `curl -d` sends) stored an empty object.
   Only a POST without a query string (a POST Object upload, or another service's query-protocol call)
   is a form; every other request keeps its body.

3. DeleteObjectTagging of a key that does not exist is 404 NoSuchKey (Moto dereferenced None: 500).
4. A request Moto's dispatcher cannot attribute to a service (it guesses from odd paths and headers, and
   failed with a 500) goes to S3, the service this endpoint serves.

5. Speed: Moto keeps an object's Last-Modified as an ISO-8601 string and its response serializer parses it
   back with botocore's general parser (dateutil) for every timestamp it writes: 31% of the CPU of a
   ListObjectsV2 of 100 keys (py-spy, GIL samples). Strings in exactly that form are parsed with
   `datetime.fromisoformat` instead (UTC, with or without the `Z`); everything else still goes to
   botocore's parser, so the output is unchanged.

All are patches of Moto's own classes (there is no setting for any of them); `apply()` warns if the Moto
version differs from the one they were written for, and the tests pin the behaviour.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from importlib.metadata import version

from botocore.utils import parse_to_aware_datetime
from dateutil.tz import tzutc
from moto.core import serialize
from moto.moto_server import werkzeug_app
from moto.moto_server.utilities import RegexConverter
from moto.s3.exceptions import MissingKey
from moto.s3.models import S3Backend

log = logging.getLogger("moto_gateway")

WRITTEN_FOR = "5.2.5"
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6})?Z?")
UTC = tzutc()


def fast_aware_datetime(value):
    """botocore's `parse_to_aware_datetime`, with a fast path for full ISO-8601 strings."""
    if isinstance(value, str) and ISO_TIMESTAMP.fullmatch(value):
        return datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=UTC)  # UTC, as botocore assumes
    return parse_to_aware_datetime(value)


class DotAllRegexConverter(RegexConverter):
    """Moto's route converter, with `.` matching a newline too (a key such as `a\\nb`)."""

    def __init__(self, url_map, *items):
        super().__init__(url_map, *items)
        self.regex = f"(?s:{self.regex})"


def wants_form_data(request) -> bool:
    """A body is parsed as a form only for a POST without a query string (POST Object, query protocol)."""
    return (
        bool(request.environ.get("CONTENT_TYPE"))
        and request.environ.get("REQUEST_METHOD", "").upper() == "POST"
        and not request.environ.get("QUERY_STRING")
    )


def delete_object_tagging_of_a_present_key(original):
    def delete_object_tagging(self, bucket_name: str, key_name: str, version_id: str | None = None):
        if self.get_object(bucket_name, key_name, version_id=version_id) is None:
            raise MissingKey(key_name)
        return original(self, bucket_name, key_name, version_id=version_id)

    return delete_object_tagging


def get_application_or_s3(original):
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

    return get_application


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    installed = version("moto")
    if installed != WRITTEN_FOR:
        log.warning(
            "moto_patches were written for moto %s, found %s: check tests/moto_gateway", WRITTEN_FOR, installed
        )
    werkzeug_app.RegexConverter = DotAllRegexConverter
    werkzeug_app.BackendRequest.want_form_data_parsed = property(wants_form_data)
    dispatcher = werkzeug_app.DomainDispatcherApplication
    dispatcher.get_application = get_application_or_s3(dispatcher.get_application)
    S3Backend.delete_object_tagging = delete_object_tagging_of_a_present_key(S3Backend.delete_object_tagging)
    if getattr(serialize, "parse_to_aware_datetime", None) is parse_to_aware_datetime:
        serialize.parse_to_aware_datetime = fast_aware_datetime
    _applied = True
