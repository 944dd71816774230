"""What every layer that reads an S3 XML body needs: parsing it safely, an element's local name and
children, and S3's MalformedXML."""

from __future__ import annotations

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

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


def parse_xml(body: bytes):
    """The document's root element (defusedxml: no entities, no external references), or MalformedXML."""
    try:
        return fromstring(body)
    except (ParseError, DefusedXmlException, ValueError):
        raise malformed_xml() from None


def child(element, name: str):
    """The first child named `name` (any namespace), or None."""
    return next((node for node in element if local_name(node.tag) == name), None)


def child_text(element, name: str) -> str | None:
    """The stripped text of the first child named `name`, or None when there is none."""
    node = child(element, name)
    return None if node is None else (node.text or "").strip()
