"""tongban: a platform for holistic smart government (整体智治)."""

__version__ = "0.1.0"
