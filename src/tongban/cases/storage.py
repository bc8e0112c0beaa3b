"""Uploaded files, stored once by content hash under ``TONGBAN_UPLOAD_DIR``.

A file is written before the transaction that records it commits (a row must never name a
file that is not there); a transaction rolled back leaves its file behind, named by nobody.
:func:`sweep` removes such files once they are old enough that no transaction can still be
about to name them (``tongban files sweep``).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tongban.config import get_settings


def path_for(digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("not a sha256 hex digest")
    return get_settings().upload_dir / digest[:2] / digest


@contextmanager
def _locked(exclusive: bool) -> Iterator[None]:
    """Storing and sweeping exclude each other file by file: a sweep never removes a file
    between a ``put`` finding it there and that ``put`` marking it as just written."""
    root = get_settings().upload_dir
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def put(digest: str, data: bytes) -> Path:
    """Write atomically; a file already there (same content, same hash) is kept, and marked
    as just written, so that a sweep leaves it to the transaction about to name it."""
    target = path_for(digest)
    with _locked(exclusive=False):
        if target.exists():
            os.utime(target)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return target


def get(digest: str) -> bytes:
    return path_for(digest).read_bytes()


_DIGEST = re.compile(r"[0-9a-f]{64}")


def stored() -> Iterator[Path]:
    """Every stored file (temporary files of an unfinished ``put`` are not listed)."""
    root = get_settings().upload_dir
    if not root.is_dir():
        return
    for shard in sorted(root.iterdir()):
        if shard.is_dir() and len(shard.name) == 2:
            for path in sorted(shard.iterdir()):
                if _DIGEST.fullmatch(path.name) and path.name.startswith(shard.name):
                    yield path


@dataclass
class SweepReport:
    files: int = 0
    referenced: int = 0
    too_young: int = 0
    removed: list[str] = field(default_factory=list)
    removed_bytes: int = 0


def sweep(
    referenced: set[str],
    *,
    older_than_seconds: float,
    dry_run: bool = False,
    progress: Callable[[], None] | None = None,
) -> SweepReport:
    """Remove stored files whose digest is not in ``referenced`` and that were last written
    more than ``older_than_seconds`` ago; ``dry_run`` only reports them."""
    report = SweepReport()
    cutoff = time.time() - older_than_seconds
    for path in stored():
        report.files += 1
        if progress is not None:
            progress()
        if path.name in referenced:
            report.referenced += 1
            continue
        with _locked(exclusive=not dry_run):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if stat.st_mtime > cutoff:
                report.too_young += 1
                continue
            report.removed.append(path.name)
            report.removed_bytes += stat.st_size
            if not dry_run:
                path.unlink(missing_ok=True)
    return report
