"""Shared helpers for the gateway tests: AWS error bodies, clients for another mode or another clock."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import botocore.auth
import requests

from testkit.clients import make_test_client as client  # noqa: F401 (the gateway tests import it from here)


def aws_error(response: requests.Response) -> dict[str, str]:
    """The <Error> document as {element: text}, plus the status under 'status'."""
    root = ET.fromstring(response.content)
    assert root.tag == "Error", response.text
    return {"status": response.status_code, **{child.tag: child.text or "" for child in root}}



def shift_botocore_clock(monkeypatch, seconds: float) -> None:
    """Makes this process's botocore sign as if it were `seconds` later (negative: earlier)."""
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() + datetime.timedelta(seconds=seconds)
    )
