"""tongban: a platform for holistic smart government (整体智治)."""
