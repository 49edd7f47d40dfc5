"""Notifiers, one per channel behind one small interface; the local outbox is the default."""

from bot.notify.base import Delivery, Notifier
from bot.notify.outbox import OutboxNotifier
from bot.notify.smtp import SmtpNotifier, tls_context

__all__ = ["Delivery", "Notifier", "OutboxNotifier", "SmtpNotifier", "tls_context"]
