"""Small patches of Moto, each in its own module, each naming the Moto version it was written for and
refusing to apply to another (a newer Moto may have fixed or moved what it patches).

`apply()` installs the corrections every gateway needs (routing, form_bodies, delete_object_tagging,
cors_rules, checksum_algorithms, checksum_headers, part_reads, object_attributes),
one measured speed-up (timestamps), the four that let large bodies bypass Moto's `bytes`
(streamed_request_body, key_value, streamed_completion, checksum_of_slices; the layer that uses them is
fast_paths/streamed_bodies.py, the types they share are in state/key_bodies.py), and issue 28's
corrections (acl_bodies, lock_defaults, kms_key_ids, multipart_initiated, notification_events, tag_sets);
`bucket_permission`, `object_acl_default`, `owner_grants` and `acl_principals` are applied by `app.py` only
when the access layer decides
(GATEWAY_ACCESS=s3). Every `apply()` is idempotent.
"""

from __future__ import annotations

import moto


def require_moto(version: str, patch: str) -> None:
    if moto.__version__ != version:
        raise RuntimeError(
            f"moto_gateway patch {patch} was written for Moto {version}, not {moto.__version__}: "
            "check whether it is still needed and update it"
        )


def apply() -> None:
    from moto_gateway.moto_patches import (
        acl_bodies,
        checksum_algorithms,
        checksum_headers,
        checksum_of_slices,
        cors_rules,
        delete_object_tagging,
        form_bodies,
        key_value,
        kms_key_ids,
        lock_defaults,
        multipart_initiated,
        notification_events,
        object_attributes,
        part_reads,
        routing,
        streamed_completion,
        streamed_request_body,
        tag_sets,
        timestamps,
    )

    routing.apply()
    cors_rules.apply()
    checksum_algorithms.apply()
    checksum_headers.apply()
    part_reads.apply()
    object_attributes.apply()
    form_bodies.apply()
    delete_object_tagging.apply()
    timestamps.apply()
    checksum_of_slices.apply()  # after checksum_algorithms, whose CRCs it keeps
    streamed_request_body.apply()
    key_value.apply()
    streamed_completion.apply()
    acl_bodies.apply()
    lock_defaults.apply()
    kms_key_ids.apply()
    multipart_initiated.apply()
    notification_events.apply()
    tag_sets.apply()
