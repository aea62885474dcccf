"""province.toml: the province broker, PostgreSQL, the web pages and their accounts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("admin", "site_head")
MODES = ("leader", "shared")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    # This instance's name (unique per instance: `events.received_by`, the logs); in "shared" mode
    # also its MQTT session, which the broker keeps (with its unacknowledged messages) across restarts.
    client_id: str = "motcua-province-1"
    group: str = "province"
    # "leader" (default): the instances of `group` elect one active instance through a PostgreSQL
    # advisory lock; it alone subscribes (plain subscriptions, under the group's one MQTT session
    # `motcua-{group}-active`), the others stand by and the first to get the lock takes the session
    # over, with whatever the broker queued for it, when the active one dies. Survives a restart of
    # the province broker: Mosquitto keeps a persistent session's plain subscriptions.
    # "shared": every instance active behind `$share/{group}/…`. Mosquitto 2.0.11 does not restore
    # shared subscriptions after a broker restart: what the bridges deliver before the instances are
    # back is dropped (docs/province.md). Use it only with a broker that keeps them.
    mode: str = "leader"
    # Older province.toml files: true = mode "shared", false = mode "leader".
    shared: bool | None = None
    # How often a standby tries the lock and the active instance checks it still holds it.
    leader_poll_s: float = 1.0
    # What the sites' bridges put before `motcua/v1/{site}/…` on this broker (`--remote-prefix`).
    remote_prefix: str = ""
    session_expiry_s: int = 7 * 24 * 3600

    @property
    def active_mode(self) -> str:
        if self.shared is not None:
            return "shared" if self.shared else "leader"
        return self.mode

    @property
    def session_id(self) -> str:
        """The MQTT client id: the group's one session when elected, this instance's when shared."""
        return f"motcua-{self.group}-active" if self.active_mode == "leader" else self.client_id


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    role: str  # admin | site_head
    site: str | None = None


@dataclass(frozen=True)
class ProvinceConfig:
    mqtt: BrokerSettings
    dsn: str
    web_host: str = "127.0.0.1"
    web_port: int = 8100
    web: bool = True
    batch_max: int = 500
    batch_wait_s: float = 0.02
    users: tuple[User, ...] = field(default_factory=tuple)


def parse(data: dict[str, Any]) -> ProvinceConfig:
    mqtt = data.get("mqtt", {})
    known = set(BrokerSettings.__dataclass_fields__)
    unknown = set(mqtt) - known
    if unknown:
        raise ConfigError(f"[mqtt]: unknown keys {sorted(unknown)}")
    if mqtt.get("mode", "leader") not in MODES:
        raise ConfigError(f"[mqtt] mode: one of {MODES}")
    postgres = data.get("postgres", {})
    if not isinstance(postgres.get("dsn"), str):
        raise ConfigError('[postgres] dsn is required (e.g. "host=127.0.0.1 dbname=province user=…")')
    users = []
    for entry in data.get("users", []):
        role = entry.get("role", "admin")
        if role not in ROLES:
            raise ConfigError(f"[[users]] {entry.get('username')!r}: role must be one of {ROLES}")
        if role == "site_head" and not entry.get("site"):
            raise ConfigError(f"[[users]] {entry.get('username')!r}: a site head needs `site`")
        users.append(User(entry["username"], entry["password_hash"], role, entry.get("site")))
    web = data.get("web", {})
    ingest = data.get("ingest", {})
    return ProvinceConfig(
        mqtt=BrokerSettings(**mqtt),
        dsn=postgres["dsn"],
        web_host=web.get("host", "127.0.0.1"),
        web_port=int(web.get("port", 8100)),
        web=bool(web.get("enabled", True)),
        batch_max=int(ingest.get("batch_max", 500)),
        batch_wait_s=float(ingest.get("batch_wait_s", 0.02)),
        users=tuple(users),
    )


def load(path: str | Path) -> ProvinceConfig:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    return parse(data)


def render(
    *,
    mqtt_port: int,
    dsn: str,
    web_port: int,
    client_id: str = "motcua-province-1",
    admin_password_hash: str,
    site_heads: dict[str, tuple[str, str]] | None = None,
    remote_prefix: str = "",
    mqtt_host: str = "127.0.0.1",
    web_host: str = "127.0.0.1",
    mode: str = "leader",
) -> str:
    """A province.toml (as `motcua province-demo` and the tests write it). `site_heads`: username →
    (site, password hash)."""
    import tomli_w

    users: list[dict[str, str]] = [
        {"username": "admin", "password_hash": admin_password_hash, "role": "admin"}
    ]
    for username, (site, password_hash) in (site_heads or {}).items():
        users.append(
            {"username": username, "password_hash": password_hash, "role": "site_head", "site": site}
        )
    return tomli_w.dumps(
        {
            "mqtt": {
                "host": mqtt_host,
                "port": mqtt_port,
                "client_id": client_id,
                "remote_prefix": remote_prefix,
                "mode": mode,
            },
            "postgres": {"dsn": dsn},
            "web": {"host": web_host, "port": web_port},
            "users": users,
        }
    )
