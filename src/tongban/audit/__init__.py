"""An append-only, hash-chained audit trail of who changed what."""
