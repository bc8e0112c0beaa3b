"""One-thing bundles (一件事): composition, the unified form and the reduction ledger."""
