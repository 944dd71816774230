"""Small patches of Moto's S3 model, each in its own module, each naming the Moto version it was written
for and refusing to apply to another (a newer Moto may have fixed or moved what it patches)."""

from __future__ import annotations

import moto


def require_moto(version: str, patch: str) -> None:
    if moto.__version__ != version:
        raise RuntimeError(
            f"moto_gateway patch {patch} was written for Moto {version}, not {moto.__version__}: "
            "check whether it is still needed and update it"
        )
