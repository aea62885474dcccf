"""The `[citizen_notify]` table of the hub's site TOML.

```toml
[citizen_notify]
near_ahead = 3               # "còn 3 người nữa đến lượt bạn"
reinstate_minutes = 15       # after a no-show: come back to the counter within this long
channel = "sms"              # or "zalo": how a phone number is reached

[citizen_notify.sms]         # an HTTP brandname-SMS gateway (eSMS-like JSON API)
url = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
api_key = "…"
secret_key = "…"
brandname = "MOTCUA"

[citizen_notify.zalo]        # Zalo ZNS template messages
url = "https://business.openapi.zalo.me/message/template"
access_token = "…"
templates = { near = "123456", called = "123457", no_show = "123458" }

[citizen_notify.webpush]     # VAPID keys are made at first start next to the database
subject = "mailto:admin@example.gov.vn"
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from appliance.config import Strict


class SmsSettings(Strict):
    url: str
    api_key: str = ""
    secret_key: str = ""
    brandname: str = "MOTCUA"
    timeout_s: float = Field(10.0, gt=0, le=60)


class ZaloSettings(Strict):
    url: str
    access_token: str = ""
    templates: dict[str, str] = {}
    timeout_s: float = Field(10.0, gt=0, le=60)


class WebPushSettings(Strict):
    subject: str = "mailto:admin@localhost"
    key_file: str | None = None  # default: vapid_private.pem next to the hub's database
    ttl_s: int = Field(3600, ge=0, le=86400)


class NotifySettings(Strict):
    near_ahead: int = Field(3, ge=1, le=50)
    reinstate_minutes: int = Field(15, ge=1, le=240)
    channel: Literal["sms", "zalo"] = "sms"
    sms: SmsSettings | None = None
    zalo: ZaloSettings | None = None
    webpush: WebPushSettings | None = None
    # Delivery retries: from `retry_min_s` doubling up to `retry_max_s`, for at most `give_up_s`
    # (a message that arrives an hour late is worse than none).
    retry_min_s: float = Field(2.0, gt=0)
    retry_max_s: float = Field(120.0, gt=0)
    give_up_s: float = Field(3600.0, gt=0)


def load_notify_settings(table: dict[str, Any] | None) -> NotifySettings | None:
    if table is None:
        return None
    return NotifySettings.model_validate(table)
