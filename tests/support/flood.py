"""A device gone hostile: floods one RPC method from its own broker credentials, as fast as paho
publishes, for a number of seconds; prints one JSON line with what it sent and every answer's code.

    python -m tests.support.flood --port P --site S --device kiosk-1 --username kiosk-1 \
        --password ... --method ticket.issue --params '{"service_id": "dat-dai"}' --seconds 5

Its own process, so the flood competes with the hub for the CPU as a real one would, not for the
test's interpreter lock.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--method", default="ticket.issue")
    parser.add_argument("--params", default="{}")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--response-topic", help="default: the device's own reply topic")
    args = parser.parse_args()
    root = f"motcua/v1/{args.site}"
    replies = f"{root}/devices/{args.device}/replies"
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    subscribed = threading.Event()
    disconnected = threading.Event()

    def on_message(client: Client, userdata: object, message: MQTTMessage) -> None:
        try:
            body: dict[str, Any] = json.loads(message.payload)
            code = "ok" if body.get("ok") else str((body.get("error") or {}).get("code"))
        except ValueError:
            code = "unreadable"
        with lock:
            codes[code] += 1

    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{args.site}-{args.device}",
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,
    )
    client.max_inflight_messages_set(0)  # no client-side flow control: as fast as the socket takes
    client.max_queued_messages_set(0)
    if args.username:
        client.username_pw_set(args.username, args.password)
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_disconnect = lambda *a: disconnected.set()
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    client.subscribe(replies, qos=1)
    subscribed.wait(5)
    body = json.dumps({"v": 1, **json.loads(args.params)}).encode()
    topic = f"{root}/rpc/{args.device}/{args.method}"
    sent = 0
    started = time.monotonic()
    deadline = started + args.seconds
    while time.monotonic() < deadline and not disconnected.is_set():
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = args.response_topic or replies
        properties.CorrelationData = uuid.uuid4().bytes
        info = client.publish(topic, body, qos=args.qos, properties=properties)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            break
        sent += 1
        if sent % 500 == 0:
            time.sleep(0.001)  # let paho's network thread write and read
    flooded_s = time.monotonic() - started
    time.sleep(0.5)  # the last answers
    client.disconnect()
    client.loop_stop()
    with lock:
        summary = {
            "sent": sent,
            "seconds": round(flooded_s, 2),
            "replies": dict(codes),
            "disconnected": disconnected.is_set(),
        }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
