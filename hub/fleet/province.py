"""The one gate for device commands the province sends over the bridge (`province/commands`).

The bridge bypasses the site broker's ACLs, so a retained or stale request, an unknown device id or a
command outside PROVINCE_COMMANDS is logged and dropped here.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from appliance.config import ID_PATTERN
from appliance.mqtt import Message, PayloadError
from appliance.timeutil import parse_iso

log = logging.getLogger("motcua.hub.fleet")

# What the province may ask for: nothing that stops a device during opening hours, and never a
# configuration (only the fleet page, at the site, changes that).
PROVINCE_COMMANDS = ("identify", "test_print", "reload")
PROVINCE_MAX_PAYLOAD = 4096
_ID_RE = re.compile(ID_PATTERN)


def province_request(msg: Message, moment: datetime, expiry_s: float) -> tuple[str, str] | None:
    """`(device_id, command)` of a `{v, device_id, cmd, ts?}` request fit to run at `moment`, or None."""
    if msg.retain:  # a retained request would run again at every hub reconnect
        log.warning("province command ignored: retained on %s", msg.topic)
        return None
    try:
        body = msg.json(max_size=PROVINCE_MAX_PAYLOAD)
    except PayloadError as error:
        log.warning("province command ignored: %s", error)
        return None
    device_id, command = body.get("device_id"), body.get("cmd")
    if command not in PROVINCE_COMMANDS or not isinstance(device_id, str) or not _ID_RE.match(device_id):
        log.warning("province command ignored: %r for %r is not allowed", command, device_id)
        return None
    try:
        sent = parse_iso(body["ts"]) if isinstance(body.get("ts"), str) else None
    except ValueError:
        sent = None
    if sent is not None and abs((moment - sent).total_seconds()) > expiry_s:
        log.warning("province command %s for %s ignored: sent at %s", command, device_id, body.get("ts"))
        return None
    return device_id, str(command)
