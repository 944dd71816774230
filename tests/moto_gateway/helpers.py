"""Shared helpers for the gateway tests: AWS error bodies, clients for another mode or another clock."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import requests
from botocore.config import Config

from tests.conftest import REGION


def aws_error(response: requests.Response) -> dict[str, str]:
    """The <Error> document as {element: text}, plus the status under 'status'."""
    root = ET.fromstring(response.content)
    assert root.tag == "Error", response.text
    return {"status": response.status_code, **{child.tag: child.text or "" for child in root}}


def client(
    url: str,
    *,
    signature_version: str = "s3v4",
    addressing: str = "path",
    key: str = "test",
    secret: str = "test",
):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": addressing}, signature_version=signature_version),
    )


def shift_botocore_clock(monkeypatch, seconds: float) -> None:
    """Makes this process's botocore sign as if it were `seconds` later (negative: earlier)."""
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() + datetime.timedelta(seconds=seconds)
    )
