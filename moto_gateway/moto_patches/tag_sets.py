"""Moto 5.2.5, `S3Response._tagging_from_xml` (PutObjectTagging's body):
- an empty TagSet removes every tag (S3 API Reference, PutObjectTagging; s3-tests test_put_delete_tags'
  neighbours send `<Tagging><TagSet/></Tagging>`): Moto indexed the missing Tag list and the request failed;
- two Tags with one Key: S3 answers 400 InvalidTag "Cannot provide multiple Tags with the same key"; Moto
  kept the last one.
"""

from __future__ import annotations

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    import xmltodict
    from moto.s3.exceptions import DuplicateTagKeys
    from moto.s3.responses import S3Response

    if getattr(S3Response._tagging_from_xml, "motostack_patched", False):
        return

    def tagging_from_xml(self) -> dict[str, str]:
        parsed = xmltodict.parse(self.body, force_list={"Tag": True})
        tag_set = (parsed.get("Tagging") or {}).get("TagSet") or {}
        tags: dict[str, str] = {}
        for tag in tag_set.get("Tag") or []:
            if tag["Key"] in tags:
                raise DuplicateTagKeys()
            tags[tag["Key"]] = tag.get("Value") or ""
        return tags

    tagging_from_xml.motostack_patched = True
    S3Response._tagging_from_xml = tagging_from_xml
