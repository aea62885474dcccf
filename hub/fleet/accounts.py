"""Broker accounts of devices: Mosquitto's dynamic-security plugin, or none (`motcua demo`).

`DynsecAccounts` administers the plugin over MQTT (`$CONTROL/dynamic-security/v1`) through the
hub's own link, so the hub needs neither file access to the broker nor a signal to reload it. Each
device gets one client (user name = device id, client id pinned to `{site}-{device_id}`) and one
role holding exactly its ACLs (hub.fleet.roles.device_acls). Deleting the client makes Mosquitto
disconnect it at once ("administrative action") and refuse it from then on.

`OpenBroker` stands for an anonymous broker (the demo): nothing to create, every call recorded so
a test can see what the hub would have done.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.mqtt import Link, Message

from .errors import BrokerAccountError
from .roles import Acl

log = logging.getLogger("motcua.hub.fleet")

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
ROLE_PREFIX = "motcua-device-"
# Errors that mean "already as we want it" when deleting.
_GONE = ("not found",)


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    client_id: str
    acls: tuple[Acl, ...]
    text_name: str = ""


class BrokerAccounts(Protocol):
    """Creates and revokes the broker identity of devices."""

    @property
    def secured(self) -> bool:
        """True when devices must present credentials (they get one at enrolment)."""
        ...

    def provision(self, account: Account) -> None:
        """Create the account, replacing (and disconnecting) any earlier one of that user name."""
        ...

    def revoke(self, username: str) -> None:
        """Delete the account and disconnect whoever uses it now. Idempotent."""
        ...

    def suspend(self, username: str) -> None:
        """Disconnect the account and refuse it until `resume` (a device flooding the broker)."""
        ...

    def resume(self, usernames: Sequence[str]) -> None:
        """Let suspended accounts connect again (accounts that were not suspended stay as they are)."""
        ...


def role_name(username: str) -> str:
    return ROLE_PREFIX + username


class DynsecAccounts:
    """Accounts in Mosquitto's dynamic-security plugin, administered through `link`.

    The link's user must hold the plugin's admin role (hub.fleet.broker_setup.init_dynsec makes the
    hub that user).
    """

    secured = True

    def __init__(self, link: Link, *, timeout: float = 5.0) -> None:
        self.link = link
        self.timeout = timeout
        self._lock = threading.Lock()
        self._waiting: dict[str, _Pending] = {}
        link.subscribe(RESPONSE_TOPIC, self._on_response, qos=1)

    def provision(self, account: Account) -> None:
        role = role_name(account.username)
        responses = self.execute(
            [
                {"command": "deleteClient", "username": account.username},
                {"command": "deleteRole", "rolename": role},
                {
                    "command": "createRole",
                    "rolename": role,
                    "textname": account.text_name[:100],
                    "acls": [acl.as_json() for acl in account.acls],
                },
                {
                    "command": "createClient",
                    "username": account.username,
                    "password": account.password,
                    "clientid": account.client_id,
                    "textname": account.text_name[:100],
                    "roles": [{"rolename": role, "priority": 0}],
                },
            ]
        )
        self._check(responses, tolerate_gone=("deleteClient", "deleteRole"))
        log.info(
            "broker account %r created (client id %s, %d ACLs)",
            account.username,
            account.client_id,
            len(account.acls),
        )

    def update_acls(self, username: str, acls: Sequence[Acl]) -> bool:
        """Bring an existing account's role to exactly `acls` (a hub upgrade may change what a role
        may do), leaving its password and connection alone. True when something changed."""
        role = role_name(username)
        [answer] = self.execute([{"command": "getRole", "rolename": role}])
        self._check([answer])
        current = {
            (str(acl.get("acltype")), str(acl.get("topic"))): acl
            for acl in ((answer.get("data") or {}).get("role") or {}).get("acls", [])
        }
        wanted = {(acl.acltype, acl.topic): acl for acl in acls}
        commands: list[dict[str, Any]] = [
            {"command": "removeRoleACL", "rolename": role, "acltype": acltype, "topic": topic}
            for acltype, topic in current.keys() - wanted.keys()
        ]
        commands += [
            {"command": "addRoleACL", "rolename": role, **acl.as_json()}
            for key, acl in wanted.items()
            if key not in current
        ]
        if not commands:
            return False
        self._check(self.execute(commands))
        log.info("broker role of %r updated (%d ACL changes)", username, len(commands))
        return True

    def revoke(self, username: str) -> None:
        responses = self.execute(
            [
                {"command": "deleteClient", "username": username},
                {"command": "deleteRole", "rolename": role_name(username)},
            ]
        )
        self._check(responses, tolerate_gone=("deleteClient", "deleteRole"))
        log.info("broker account %r deleted; its connection was closed", username)

    def suspend(self, username: str) -> None:
        self._check(self.execute([{"command": "disableClient", "username": username}]))
        log.warning("broker account %r suspended: disconnected, refused until resumed", username)

    def resume(self, usernames: Sequence[str]) -> None:
        if not usernames:
            return
        commands = [{"command": "enableClient", "username": name} for name in usernames]
        self._check(self.execute(commands), tolerate_gone=("enableClient",))

    def list_clients(self) -> list[str]:
        responses = self.execute([{"command": "listClients", "verbose": False, "count": -1, "offset": 0}])
        self._check(responses)
        data = responses[0].get("data") or {}
        return [str(name) for name in data.get("clients", [])]

    def execute(self, commands: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send `commands` in one message; their responses, in order (BrokerAccountError on timeout)."""
        if not self.link.connected:
            raise BrokerAccountError(
                "the hub is not connected to the broker: broker accounts cannot change now"
            )
        batch = uuid.uuid4().hex
        tagged = [
            {**command, "correlationData": f"{batch}-{index}"} for index, command in enumerate(commands)
        ]
        pending = _Pending({item["correlationData"] for item in tagged})
        with self._lock:
            for key in pending.expected:
                self._waiting[key] = pending
        try:
            self.link.publish(CONTROL_TOPIC, json.dumps({"commands": tagged}), qos=1)
            if not pending.done.wait(self.timeout):
                raise BrokerAccountError(
                    "the broker did not answer the dynamic-security commands: is the plugin loaded "
                    "and is the hub its administrator?"
                )
        finally:
            with self._lock:
                for key in pending.expected:
                    self._waiting.pop(key, None)
        return [pending.responses[item["correlationData"]] for item in tagged]

    @staticmethod
    def _check(responses: list[dict[str, Any]], tolerate_gone: tuple[str, ...] = ()) -> None:
        for response in responses:
            error = response.get("error")
            if not error:
                continue
            if response.get("command") in tolerate_gone and any(word in str(error).lower() for word in _GONE):
                continue
            raise BrokerAccountError(f"broker refused {response.get('command')}: {error}")

    def _on_response(self, message: Message) -> None:
        try:
            body = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            log.warning("unreadable dynamic-security response dropped")
            return
        for response in body.get("responses", []) if isinstance(body, dict) else []:
            if not isinstance(response, dict):
                continue
            key = response.get("correlationData")
            with self._lock:
                pending = self._waiting.get(key) if isinstance(key, str) else None
            if pending is not None:
                pending.add(key, response)  # type: ignore[arg-type]


@dataclass
class _Pending:
    expected: set[str]
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    def add(self, key: str, response: dict[str, Any]) -> None:
        self.responses[key] = response
        if self.expected <= self.responses.keys():
            self.done.set()


@dataclass
class OpenBroker:
    """An anonymous broker: devices connect without credentials; calls are only recorded."""

    provisioned: list[Account] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    secured: bool = False

    def provision(self, account: Account) -> None:
        self.provisioned.append(account)

    def revoke(self, username: str) -> None:
        self.revoked.append(username)

    def suspend(self, username: str) -> None:
        self.suspended.append(username)

    def resume(self, usernames: Sequence[str]) -> None:
        self.suspended = [name for name in self.suspended if name not in usernames]
