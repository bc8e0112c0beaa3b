"""Exports that draw on more than one domain, assembled above them.

The catalogue knows nothing of bundles (dependencies run one way: bundles may import the
catalogue, never the reverse), yet its CPSV-AP export names the one-thing bundles as the life and
business events that group its services. That export is put together here, from the catalogue's
document and the bundles' events, for the API (``exports.api``) and the CLI alike.
"""
