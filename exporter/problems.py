"""Objects the mirror could not bring in step (a path it did not create in the way, a full disk): kept by
(bucket, key), logged once per reason, shown in /status and retried about every second until they pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from common.s3 import describe_error
from exporter.logtext import printable
from exporter.plan import RemoteObject
from exporter.transfer import Blocked

log = logging.getLogger("exporter")


@dataclass(frozen=True)
class Problem:
    """An object the mirror could not bring in step: retried about every second until it is."""

    bucket: str
    key: str
    path: str
    reason: str
    blocked: bool
    remote: RemoteObject | None


class Problems(dict[tuple[str, str], Problem]):
    """The current problems by (bucket, key)."""

    def report(self, bucket: str, key: str, path: str, reason: str, *, blocked: bool,
               remote: RemoteObject | None) -> None:
        known = self.get((bucket, key))
        self[(bucket, key)] = Problem(bucket, key, path, reason, blocked, remote)
        if known is None or known.reason != reason:
            log.error("cannot write %s/%s (mirror path %s/%s): %s", bucket, printable(key), bucket,
                      printable(path), reason)

    def solved(self, bucket: str, key: str) -> None:
        self.pop((bucket, key), None)

    def changes_to_retry(self, known_buckets: set[str]) -> dict[str, dict[str, RemoteObject | None | bool]]:
        """The problem keys as a change batch (False: ask S3 what it holds); those of buckets no longer
        known are forgotten."""
        changes: dict[str, dict[str, RemoteObject | None | bool]] = {}
        for problem in list(self.values()):
            if problem.bucket not in known_buckets:
                self.solved(problem.bucket, problem.key)
                continue
            changes.setdefault(problem.bucket, {})[problem.key] = problem.remote if problem.remote else False
        return changes

    def as_list(self) -> list[dict]:
        """As /status shows them."""
        return [
            {"bucket": p.bucket, "key": p.key, "path": p.path, "reason": p.reason, "blocked": p.blocked}
            for p in self.values()
        ]


def blocked_reason(root: Path, exc: Blocked) -> str:
    try:
        where = exc.path.relative_to(root).as_posix()
    except ValueError:
        where = str(exc.path)
    kind = "folder" if exc.path.is_dir() else "file"
    return f"a {kind} the exporter did not create is in the way ({printable(where)}); move it away to let this object in"


def describe_write_error(exc: BaseException) -> str:
    if isinstance(exc, IsADirectoryError):
        return "a folder is in the way"
    if isinstance(exc, NotADirectoryError):
        return "a file is in the way of a folder"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return describe_error(exc)
