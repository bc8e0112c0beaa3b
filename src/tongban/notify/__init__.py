"""Notifications to applicants and officers: the port and its adapters (docs/notifications.md)."""

from tongban.notify.port import DeliveryFailed, Notification, Notifier, compose
from tongban.notify.service import deliver, notifier_from_settings

__all__ = [
    "DeliveryFailed",
    "Notification",
    "Notifier",
    "compose",
    "deliver",
    "notifier_from_settings",
]
