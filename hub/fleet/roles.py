"""What each device role may do, where it stands, and what it starts with (pure: no I/O).

One table drives three checks that must agree: the broker ACL of a device (`device_acls`), the
hub's RPC authorisation (`hub.fleet.runtime.FleetRuntime.authorize`) and the starter configuration
written at enrolment (`starter_config`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from appliance.config import ID_PATTERN
from appliance.topics import Topics

Role = Literal["kiosk", "printer", "scanner", "led", "display"]
ROLES: tuple[Role, ...] = ("kiosk", "printer", "scanner", "led", "display")
PlaceKind = Literal["kiosk", "counter", "hall"]
PLACE_KINDS: tuple[PlaceKind, ...] = ("kiosk", "counter", "hall")

# Methods a counter unit may call; each names the counter it acts for (params.counter_id).
COUNTER_METHODS = frozenset(
    {
        "counter.call_next",
        "counter.recall",
        "counter.skip",
        "counter.complete",
        "counter.start",
        "counter.transfer",
        "counter.open",
        "counter.close",
        "counter.call_number",
        "counter.hold",
        "counter.resume",
        "counter.pause",
    }
)
# Methods that act on a ticket (no counter_id): allowed to counter units, whose officer may reinstate.
COUNTER_TICKET_METHODS = frozenset({"ticket.reinstate", "rating.submit"})
KIOSK_METHODS = frozenset(
    {
        "ticket.issue",
        "dossier.lookup",
        "dossier.mine",
        "procedure.search",
        "rating.submit",
        "booking.check_in",
    }
)

# The systemd unit that runs each role (systemd/ in the repository).
UNITS: dict[str, str] = {role: f"motcua-{role}.service" for role in ("hub", *ROLES)}
# Where `motcua enroll` writes a role's TOML by default; the units read it from there.
CONFIG_DIR = "/etc/motcua"

# Role → "module:Class" of its configuration model, imported lazily (a device installs only its extra).
ROLE_MODELS: dict[str, str] = {
    "printer": "ticket_printer.config:PrinterConfig",
    "scanner": "barcode_reader.config:ScannerConfig",
    "led": "led_board.config:LedConfig",
    "display": "queue_display.config:DisplayConfig",
    "kiosk": "kiosk.config:KioskConfig",
}

_ID = re.compile(ID_PATTERN)
# Result topics of device commands: under the device's own id, which its ACL lets it publish.
COMMAND_RESULTS_LEAF = "command_results"


@dataclass(frozen=True)
class Place:
    """Where a device stands: at a kiosk, at a counter, or in the hall."""

    kind: PlaceKind
    id: str = ""

    @classmethod
    def parse(cls, text: str) -> Place:
        """'kiosk:kiosk-1', 'counter:5', 'hall' (or 'hall:left' for a second hall)."""
        kind, _, ident = text.strip().partition(":")
        kind = kind.strip().lower()
        ident = ident.strip()
        if kind not in PLACE_KINDS:
            raise ValueError(f"place {text!r}: expected kiosk:<id>, counter:<id> or hall")
        if kind != "hall" and not ident:
            raise ValueError(f"place {text!r}: {kind} needs an id, e.g. {kind}:1")
        if ident and not _ID.match(ident):
            raise ValueError(f"place {text!r}: {ident!r} is not a valid id")
        return cls(kind, ident)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}" if self.id else self.kind

    @property
    def slug(self) -> str:
        """'kiosk-1', 'counter-5', 'hall' — the stem of device ids made for this place."""
        if not self.id:
            return self.kind
        return self.id if self.id.startswith(self.kind) else f"{self.kind}-{self.id}"

    @property
    def counter_id(self) -> str | None:
        return self.id if self.kind == "counter" else None


def allowed_methods(role: str, place: Place | None) -> frozenset[str]:
    """RPC methods a device of `role` at `place` may call on the hub."""
    if role == "kiosk":
        return KIOSK_METHODS
    if role == "led" and place is not None and place.kind == "counter":
        return COUNTER_METHODS | COUNTER_TICKET_METHODS
    return frozenset()


def default_device_id(
    role: str, place: Place, *, kiosk_printers: Mapping[str, str | None] | None = None
) -> str:
    """A readable id: the printer the hub's [[kiosks]] table names for that kiosk, 'kiosk-1' for the
    kiosk app itself, else '<place>-<role>' ('counter-5-led', 'hall-display')."""
    if role == "printer" and place.kind == "kiosk" and kiosk_printers:
        configured = kiosk_printers.get(place.id)
        if configured:
            return configured
    if role == "kiosk" and place.kind == "kiosk":
        return place.slug
    return f"{place.slug}-{role}"


@dataclass(frozen=True)
class Acl:
    """One dynamic-security ACL entry (Mosquitto's acltype names)."""

    acltype: Literal["publishClientSend", "subscribePattern", "publishClientReceive"]
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"acltype": self.acltype, "topic": self.topic, "allow": self.allow, "priority": self.priority}


def device_acls(topics: Topics, device_id: str, role: str, place: Place | None) -> list[Acl]:
    """Everything a device may publish and subscribe to; the broker denies the rest.

    A device publishes only under its own id (state and its will, health, command results, its scans
    or print results, RPC requests for its role's methods): it cannot speak for another device.
    """
    send = [
        topics.device_state(device_id),
        topics.device_health(device_id),
        f"{topics.root}/devices/{device_id}/{COMMAND_RESULTS_LEAF}",
    ]
    send += [topics.rpc(device_id, method) for method in sorted(allowed_methods(role, place))]
    read = [
        topics.device_config(device_id),
        topics.device_commands(device_id),
        topics.device_replies(device_id),
        topics.queue_state,
        topics.queue_events,
        topics.all_devices("state"),
        topics.all_devices("health"),
    ]
    if role == "printer":
        send.append(topics.print_results(device_id))
        read.append(topics.print_jobs(device_id))
    if role == "scanner":
        send.append(topics.scans(device_id))
        # ID card scans and receipt proofs, addressed to one kiosk (barcode_reader [scan] kiosk).
        send.append(topics.private_scans(device_id, "+"))
    if role in ("kiosk", "led"):
        read.append(f"{topics.root}/scans/+")  # one level: never another kiosk's private scans
    if role == "kiosk":
        read.append(topics.private_scans("+", device_id))
        read.append(topics.device_printer(device_id))
    return [Acl("publishClientSend", topic) for topic in send] + [
        Acl("subscribePattern", topic) for topic in read
    ]


def hub_acls(topics: Topics) -> list[Acl]:
    """The hub speaks for the whole site (it is also the broker's administrator, see broker_setup)."""
    everything = f"{topics.root}/#"
    return [
        Acl("publishClientSend", everything),
        Acl("subscribePattern", everything),
        Acl("publishClientReceive", everything),
    ]


def starter_config(role: str, place: Place, *, hub_id: str = "hub") -> dict[str, Any]:
    """The role sections a new device starts with; the technician edits them on the fleet page.

    Hardware paths are the stable names the udev rules in systemd/ create.
    """
    if role == "printer":
        return {"printer": {"backend": {"type": "serial", "device": "/dev/motcua-printer", "baudrate": 9600}}}
    if role == "scanner":
        source = {"source": {"type": "hid", "device": "/dev/motcua-scanner", "grab": True}}
        if place.kind == "kiosk":  # the kiosk at this place gets its ID card scans and receipt proofs
            return {**source, "scan": {"kiosk": default_device_id("kiosk", place)}}
        return source
    if role == "led":
        board = {"driver": "modbus", "port": "/dev/motcua-board"}
        if place.kind == "counter":
            return {
                "mode": "counter",
                "hub_id": hub_id,
                "counter": {"counter_id": place.id},
                "board": {**board, "model": "digits-4"},
            }
        return {"mode": "hall", "hub_id": hub_id, "board": {**board, "model": "hall-6x12"}}
    return {}


def role_model(role: str) -> type[Any] | None:
    """The role's pydantic configuration model, or None when its package is not installed here."""
    target = ROLE_MODELS.get(role)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    model = getattr(module, class_name, None)
    return model if isinstance(model, type) else None


IDENTITY_KEYS = frozenset({"device_id", "site", "role", "mqtt", "language"})


def check_role_config(role: str, identity: Mapping[str, Any], sections: Mapping[str, Any]) -> str | None:
    """Validate identity + role sections with the role's own model; the problem as text, or None.

    Without the role's package installed only the identity is checked (by DeviceConfig).
    """
    from pydantic import ValidationError

    from appliance.config import DeviceConfig, describe_errors

    clash = sorted(IDENTITY_KEYS & set(sections))
    if clash:
        return f"the role configuration may not set {', '.join(clash)} (set at enrolment)"
    model = role_model(role)
    try:
        if model is None:
            DeviceConfig.model_validate(dict(identity))
        else:
            model.model_validate({**identity, **sections})
    except ValidationError as error:
        return describe_errors(f"{role} configuration", error)
    return None
