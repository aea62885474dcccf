"""A simulated gateway for citizens' messages (`motcua demo`, tests): a brandname-SMS gateway, the
Zalo ZNS template API and a Web Push service, in one small web server that keeps what it received.

    python -m hub.notify_sim --port 8091
    GET  /messages                 what arrived (JSON list, oldest first; ?phone=0912345678)
    POST /sms                      eSMS-like {ApiKey, SecretKey, Phone, Content, Brandname, RequestId}
    POST /zalo/message/template    ZNS {phone, template_id, template_data, tracking_id}
    POST /push/subscribe           a new push subscription {endpoint, keys} (the service holds the key)
    POST /push/<id>                a Web Push message (decrypted here, as a browser would)
    POST /admin/faults {"fail": N} the next N sends answer 503

A request id already seen (a message resent after a hub crash) is acknowledged and not kept twice:
what a real gateway's idempotency does, and what makes "exactly once" visible in `GET /messages`.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from appliance.timeutil import iso, now
from hub.sim_server import BackgroundServer


@dataclass
class NotifySimState:
    messages: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0
    duplicates: int = 0
    # push subscription id → (private key, auth secret)
    subscriptions: dict[str, tuple[Any, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request_id: str | None, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if request_id and request_id in self.seen:
                self.duplicates += 1
                return self.seen[request_id]
            entry = {
                "id": len(self.messages) + 1,
                "received_at": iso(now()),
                "request_id": request_id,
                **entry,
            }
            self.messages.append(entry)
            if request_id:
                self.seen[request_id] = entry
            return entry

    def failing(self) -> bool:
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def create_app(state: NotifySimState) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.get("/messages")
    def messages() -> Response:
        phone = request.args.get("phone")
        with state.lock:
            found = [m for m in state.messages if phone is None or m.get("phone") == phone]
        return jsonify(found)

    @app.delete("/messages")
    def reset() -> Response:
        with state.lock:
            state.messages.clear()
            state.seen.clear()
            state.duplicates = 0
        return jsonify({"ok": True})

    @app.get("/admin/stats")
    def stats() -> Response:
        with state.lock:
            return jsonify({"messages": len(state.messages), "duplicates": state.duplicates})

    @app.post("/admin/faults")
    def faults() -> Response:
        with state.lock:
            state.fail_next = int(body().get("fail", 0))
        return jsonify({"fail_next": state.fail_next})

    @app.post("/sms")
    def sms() -> Response | tuple[Response, int]:
        if state.failing():
            return jsonify({"CodeResult": "99", "ErrorMessage": "simulated outage"}), 503
        data = body()
        phone, content = str(data.get("Phone", "")), str(data.get("Content", ""))
        if not phone or not content:
            return jsonify({"CodeResult": "104", "ErrorMessage": "Phone and Content are required"})
        entry = state.record(
            data.get("RequestId"),
            {"channel": "sms", "phone": phone, "text": content, "brandname": data.get("Brandname")},
        )
        return jsonify({"CodeResult": "100", "SMSID": f"sim-{entry['id']}"})

    @app.post("/zalo/message/template")
    def zalo() -> Response | tuple[Response, int]:
        if state.failing():
            return jsonify({"error": -1, "message": "simulated outage"}), 503
        data = body()
        phone = str(data.get("phone", ""))
        local = "0" + phone[2:] if phone.startswith("84") else phone
        entry = state.record(
            data.get("tracking_id"),
            {
                "channel": "zalo",
                "phone": local,
                "template_id": data.get("template_id"),
                "template_data": data.get("template_data"),
                "text": json.dumps(data.get("template_data"), ensure_ascii=False),
            },
        )
        return jsonify({"error": 0, "message": "Success", "data": {"msg_id": f"sim-{entry['id']}"}})

    @app.post("/push/subscribe")
    def subscribe() -> Response:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        sub_id = secrets.token_urlsafe(12)
        with state.lock:
            state.subscriptions[sub_id] = (key, auth)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return jsonify(
            {
                "endpoint": f"{request.host_url}push/{sub_id}",
                "keys": {"p256dh": _b64(point), "auth": _b64(auth)},
            }
        )

    @app.post("/push/<sub_id>")
    def push(sub_id: str) -> Response | tuple[Response, int]:
        import http_ece

        with state.lock:
            found = state.subscriptions.get(sub_id)
        if found is None:
            return Response(status=410)
        if state.failing():
            return Response(status=503)
        key, auth = found
        try:
            plain = http_ece.decrypt(
                request.get_data(), private_key=key, auth_secret=auth, version="aes128gcm"
            )
            payload = json.loads(plain)
        except Exception:
            return Response("cannot decrypt", status=400)
        state.record(
            payload.get("key"),
            {
                "channel": "webpush",
                "subscription": sub_id,
                "text": payload.get("body"),
                "vapid": request.headers.get("Authorization", "").split(" ")[0],
            },
        )
        return Response(status=201)

    return app


class NotifySimServer(BackgroundServer):
    thread_name = "notify-sim"

    def __init__(
        self, state: NotifySimState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host, port)
        self.state = state or NotifySimState()

    def start(self) -> NotifySimServer:
        self._serve(create_app(self.state))
        return self


def running(state: NotifySimState | None = None, **kwargs: Any) -> NotifySimServer:
    """`with running(state) as server:` the simulator serves inside the block."""
    return NotifySimServer(state, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua notify-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    from appliance.logs import setup_logging

    setup_logging(args.verbose)
    server = NotifySimServer(host=args.host, port=args.port)
    return server.serve_until_signalled("notify-sim", lambda: f"Notify simulator ready: {server.url}")


if __name__ == "__main__":
    sys.exit(main())
