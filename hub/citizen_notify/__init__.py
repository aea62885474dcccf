"""Messages to citizens about their own ticket (issue 17): "còn N người nữa đến lượt bạn", "mời bạn
đến quầy X", and what to do after a no-show — by SMS, Zalo ZNS or Web Push, each exactly once.

`rules` decides what is due (pure); `outbox` keeps it in the hub's SQLite file in the same
transaction as the queue change that made it due; `gateways` speak to the providers; `runtime`
sends. The `CitizenNotifier` name keeps clear of appliance.notify's systemd `Notifier`.
"""

from .config import NotifySettings, load_notify_settings
from .gateways import CitizenNotifier, NotifyError, Outgoing

__all__ = ["CitizenNotifier", "NotifyError", "NotifySettings", "Outgoing", "load_notify_settings"]
