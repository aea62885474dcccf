"""The providers behind one interface: `CitizenNotifier.send(Outgoing)`.

Each request carries the outbox key as the provider's request id (eSMS `RequestId`, ZNS
`tracking_id`, Web Push `Topic`), so a message sent just before a crash and sent again after it is
recognised as the same one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from .config import SmsSettings, WebPushSettings, ZaloSettings

log = logging.getLogger("motcua.hub.citizen_notify")


class NotifyError(Exception):
    """A message not delivered. `permanent`: retrying cannot help (a bad number, a gone
    subscription, a refused template)."""

    def __init__(self, text: str, *, permanent: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    key: str
    channel: str  # sms | zalo | webpush
    address: str  # E.164 phone, or a Web Push subscription (JSON)
    kind: str
    text: str
    values: dict[str, Any] = field(default_factory=dict)


class CitizenNotifier(Protocol):
    channel: str

    def send(self, message: Outgoing) -> None: ...


def _post(url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None, timeout: float) -> Any:
    try:
        reply = requests.post(url, json=body, headers=headers or {}, timeout=timeout)
    except requests.RequestException as error:
        raise NotifyError(f"{url}: {type(error).__name__}") from None
    if reply.status_code >= 500 or reply.status_code == 429:
        raise NotifyError(f"{url}: HTTP {reply.status_code}")
    if reply.status_code >= 400:
        raise NotifyError(f"{url}: HTTP {reply.status_code}", permanent=True)
    try:
        return reply.json()
    except ValueError:
        raise NotifyError(f"{url}: not JSON") from None


class SmsGateway:
    """A brandname-SMS gateway of the common Vietnamese shape (eSMS-like JSON: ApiKey, SecretKey,
    Phone, Content, Brandname, SmsType, IsUnicode, RequestId → CodeResult "100")."""

    channel = "sms"

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> None:
        body = {
            "ApiKey": self.settings.api_key,
            "SecretKey": self.settings.secret_key,
            "Phone": "0" + message.address[3:] if message.address.startswith("+84") else message.address,
            "Content": message.text,
            "Brandname": self.settings.brandname,
            "SmsType": "2",  # brandname customer care
            "IsUnicode": "1",
            "RequestId": message.key,
        }
        answer = _post(self.settings.url, body, timeout=self.settings.timeout_s)
        code = str(answer.get("CodeResult")) if isinstance(answer, dict) else "?"
        if code != "100":
            # 99: unknown error (retry); anything else is the request's fault.
            raise NotifyError(f"SMS gateway refused: CodeResult {code}", permanent=code != "99")


class ZaloZns:
    """Zalo Notification Service template messages: POST {phone 84…, template_id, template_data,
    tracking_id} with the OA's access token → {error: 0}."""

    channel = "zalo"

    def __init__(self, settings: ZaloSettings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> None:
        template = self.settings.templates.get(message.kind)
        if template is None:
            raise NotifyError(f"no ZNS template for {message.kind}", permanent=True)
        body = {
            "phone": message.address.lstrip("+"),
            "template_id": template,
            "template_data": {key: str(value) for key, value in message.values.items()},
            "tracking_id": message.key,
        }
        headers = {"access_token": self.settings.access_token}
        answer = _post(self.settings.url, body, headers=headers, timeout=self.settings.timeout_s)
        error = answer.get("error") if isinstance(answer, dict) else None
        if error != 0:
            raise NotifyError(f"ZNS refused: error {error}", permanent=error not in (-124, -1))


class WebPush:
    """Web Push (RFC 8030/8291/8292) with pywebpush and the site's VAPID key."""

    channel = "webpush"

    def __init__(self, settings: WebPushSettings, key_file: Path) -> None:
        self.settings = settings
        self.key_file = key_file

    def send(self, message: Outgoing) -> None:
        from pywebpush import WebPushException, webpush

        try:
            subscription = json.loads(message.address)
            webpush(
                subscription_info=subscription,
                data=json.dumps({"title": message.kind, "body": message.text, "key": message.key}),
                vapid_private_key=str(self.key_file),
                vapid_claims={"sub": self.settings.subject},
                ttl=self.settings.ttl_s,
                headers={"Topic": message.key.replace(":", "-")[:32]},
                timeout=10,
            )
        except WebPushException as error:
            status = getattr(error.response, "status_code", None)
            raise NotifyError(f"web push: {status or error}", permanent=status in (400, 404, 410)) from None
        except (ValueError, requests.RequestException) as error:
            raise NotifyError(f"web push: {type(error).__name__}") from None


def ensure_vapid_key(path: Path) -> str:
    """The site's VAPID key pair, made on first start (`path`, PEM, mode 0600); returns the public
    key as the browser's `applicationServerKey` (base64url of the raw P-256 point)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid()
        vapid.generate_keys()
        vapid.save_key(str(path))
        path.chmod(0o600)
        log.info("made the site's Web Push (VAPID) key %s", path)
    vapid = Vapid.from_file(str(path))
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
