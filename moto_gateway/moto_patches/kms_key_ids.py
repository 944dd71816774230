"""Moto 5.2.5 answers an SSE-KMS object written without a key id (`x-amz-server-side-encryption: aws:kms`
alone) without `x-amz-server-side-encryption-aws-kms-key-id`. S3 encrypts it with the account's AWS managed
key for S3 (`aws/s3`) and names that key's ARN in every answer about the object (S3 User Guide, "Using
server-side encryption with AWS KMS keys (SSE-KMS)": "If you don't specify a customer managed key, Amazon
S3 automatically creates an AWS managed key (aws/s3) in your AWS account the first time that you add an
object encrypted with SSE-KMS"). The patch names a stable ARN per account and region, computed, never stored.
"""

from __future__ import annotations

import uuid

from moto_gateway.moto_patches import require_moto

MOTO_VERSION = "5.2.5"
HEADER = "x-amz-server-side-encryption-aws-kms-key-id"


def aws_managed_key_arn(account_id: str, region: str) -> str:
    key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"motostack:aws/s3:{account_id}:{region}")
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def apply() -> None:
    require_moto(MOTO_VERSION, __name__)
    from moto.s3.models import FakeKey

    original = FakeKey.response_dict
    if getattr(original.fget, "motostack_patched", False):
        return

    def response_dict(self):
        fields = original.fget(self)
        if self.encryption == "aws:kms" and HEADER not in fields:
            fields[HEADER] = aws_managed_key_arn(self.account_id, self.region_name)
        return fields

    response_dict.motostack_patched = True
    FakeKey.response_dict = property(response_dict)
