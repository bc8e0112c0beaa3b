"""Uploaded files, stored once by content hash under ``TONGBAN_UPLOAD_DIR``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tongban.config import get_settings


def path_for(digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("not a sha256 hex digest")
    return get_settings().upload_dir / digest[:2] / digest


def put(digest: str, data: bytes) -> Path:
    """Write atomically; a file already there (same content, same hash) is kept."""
    target = path_for(digest)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return target


def get(digest: str) -> bytes:
    return path_for(digest).read_bytes()
