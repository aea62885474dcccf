"""province.toml: the province broker, PostgreSQL, the web pages and their accounts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("admin", "site_head")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    # Unique per instance: the broker keeps this instance's session (and its unacknowledged
    # messages) under it across restarts; several instances share `group`.
    client_id: str = "motcua-province-1"
    group: str = "province"
    # Events through the shared subscription `$share/{group}/…` (several instances). Mosquitto 2.0.11
    # does not restore shared subscriptions after a restart of the province broker: what the bridges
    # deliver before the instances are back is dropped. A single instance is safer with false.
    shared: bool = True
    # What the sites' bridges put before `motcua/v1/{site}/…` on this broker (`--remote-prefix`).
    remote_prefix: str = ""
    session_expiry_s: int = 7 * 24 * 3600


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
    shared: bool = True,
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
                "shared": shared,
            },
            "postgres": {"dsn": dsn},
            "web": {"host": web_host, "port": web_port},
            "users": users,
        }
    )
