"""What every layer that reads an S3 XML body needs: an element's local name, and S3's MalformedXML."""

from __future__ import annotations

from moto_gateway.wsgi.errors import S3Error

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def local_name(tag: str) -> str:
    """`{namespace}Name` -> `Name`."""
    return tag.rpartition("}")[2]


def malformed_xml() -> S3Error:
    return S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
