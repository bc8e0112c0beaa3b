"""The demo's adapter: one JSON line per notification in a file, once per key, safe across
processes (an ``fcntl`` lock around check-and-append). The keys already written are cached in
memory and refreshed only from the bytes appended since (by file size), so a message costs
no re-read of the whole file."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict
from pathlib import Path

from tongban.notify.port import Notification


class FileNotifier:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._offset = 0

    def _catch_up(self, fh: object) -> None:
        import io

        assert isinstance(fh, io.BufferedRandom)
        size = os.fstat(fh.fileno()).st_size
        if size < self._offset:  # truncated or replaced: start again
            self._seen.clear()
            self._offset = 0
        if size == self._offset:
            return
        fh.seek(self._offset)
        for line in fh.read(size - self._offset).splitlines():
            try:
                self._seen.add(json.loads(line)["key"])
            except (ValueError, KeyError, TypeError):
                continue
        self._offset = size

    def send(self, message: Notification) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                self._catch_up(fh)
                if message.key in self._seen:
                    return
                line = json.dumps(asdict(message), ensure_ascii=False) + "\n"
                fh.seek(0, os.SEEK_END)
                fh.write(line.encode())
                fh.flush()
                os.fsync(fh.fileno())
                self._seen.add(message.key)
                self._offset = os.fstat(fh.fileno()).st_size
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
