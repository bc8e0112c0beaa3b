"""The outbox worker: side effects leave only after the transaction that decided them commits.

Payments go through a ``PaymentPort``; the demo's port appends to a ledger file under ``var/``
(a stand-in for the bank's interface), keyed by the payment reference so a resend is harmless.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases.models import OutboxMessage, Payment
from tongban.config import PROJECT_ROOT
from tongban.db import utcnow


class PaymentPort(Protocol):
    def send(self, *, reference: str, amount_fen: int, account: str) -> None: ...


class FileBank:
    """Appends each payment once to a JSON-lines ledger; a reference already there is skipped."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or PROJECT_ROOT / "var" / "bank-ledger.jsonl"

    def references(self) -> set[str]:
        if not self.path.exists():
            return set()
        return {
            json.loads(line)["reference"] for line in self.path.read_text().splitlines() if line
        }

    def send(self, *, reference: str, amount_fen: int, account: str) -> None:
        if reference in self.references():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(
                json.dumps({"reference": reference, "amount_fen": amount_fen, "account": account})
                + "\n"
            )


def deliver(*, session: Session, bank: PaymentPort | None = None, limit: int = 100) -> int:
    """Send what is waiting; each message is marked sent in the same transaction."""
    port = bank or FileBank()
    sent = 0
    for message in session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ):
        message.attempts += 1
        payload: dict[str, Any] = message.payload
        if message.kind == "payment":
            port.send(
                reference=payload["reference"],
                amount_fen=payload["amount_fen"],
                account=payload["account"],
            )
            payment = session.scalars(
                select(Payment).where(Payment.reference == payload["reference"])
            ).one()
            payment.status, payment.sent_at = "sent", utcnow()
        message.sent_at = utcnow()
        sent += 1
    session.flush()
    return sent
