"""The bank's port: payments out to applicants' accounts and collections of fees, by reference.

The demo's bank is a JSON-lines ledger under the data folder (``TONGBAN_DATA_DIR``), a stand-in
for the bank's interface. It is idempotent by reference under concurrency: the check for the
reference and the append happen under one exclusive file lock, so two workers, a worker and a
``tongban tick``, or two servers' sweepers never write a payment twice; each instance reads only
the lines written since it last looked, not the whole file per payment.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import BinaryIO, Protocol

from tongban.config import get_settings


class BankPort(Protocol):
    def transfer(
        self, *, reference: str, direction: str, amount_fen: int, account: str, party: str
    ) -> bool:
        """Send one order; False when the reference was already sent (nothing sent again)."""
        ...


def ledger_path() -> Path:
    return get_settings().data_folder() / "bank-ledger.jsonl"


class FileBank:
    """Appends each order once to a JSON-lines ledger; a reference already there is skipped."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ledger_path()
        self._offset = 0
        self._seen: set[str] = set()

    def references(self) -> list[str]:
        """Every reference in the ledger, in order, repeats included (for checks)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line)["reference"] for line in handle if line.strip()]

    def transfer(
        self, *, reference: str, direction: str, amount_fen: int, account: str, party: str
    ) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)
                if reference in self._seen:
                    return False
                line = json.dumps(
                    {
                        "reference": reference,
                        "direction": direction,
                        "amount_fen": amount_fen,
                        "account": account,
                        "party": party,
                    },
                    ensure_ascii=False,
                )
                handle.seek(0, os.SEEK_END)
                handle.write(line.encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
                self._offset = handle.tell()
                self._seen.add(reference)
                return True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _catch_up(self, handle: BinaryIO) -> None:
        """Read the lines others appended since this instance last looked."""
        size = os.fstat(handle.fileno()).st_size
        if size < self._offset:  # the ledger was replaced: read it again from the start
            self._offset, self._seen = 0, set()
        if size == self._offset:
            return
        handle.seek(self._offset)
        chunk: bytes = handle.read(size - self._offset)
        complete = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        for line in chunk[:complete].splitlines():
            if line.strip():
                self._seen.add(json.loads(line)["reference"])
        self._offset += complete


_bank: BankPort | None = None


def bank() -> BankPort:
    """The bank port in use (one instance per process, so its read position is kept)."""
    global _bank
    if _bank is None or (isinstance(_bank, FileBank) and _bank.path != ledger_path()):
        _bank = FileBank()
    return _bank
