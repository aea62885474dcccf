"""The site broker's security set-up: the dynamic-security file, the shipped Mosquitto configuration
(systemd/mosquitto/) adapted to a place and port, the bridge to a central broker, and `SecureBroker`,
a real Mosquitto run from that shipped configuration (tests, and anyone wanting a secured demo).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template

from appliance.broker import PrivateBroker
from appliance.topics import Topics

from .errors import FleetError
from .roles import hub_acls

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "systemd" / "mosquitto"
BROKER_CONF = SHIPPED / "mosquitto.conf"
BRIDGE_TEMPLATE = SHIPPED / "motcua-bridge.conf.template"
DYNSEC_NAME = "mosquitto_dynamic_security.so"
PLUGIN_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/usr/lib/mosquitto",
    "/usr/lib",
    "/usr/local/lib",
)
HUB_ROLE = "motcua-hub"


def find_dynsec_plugin() -> Path:
    for folder in PLUGIN_DIRS:
        candidate = Path(folder) / DYNSEC_NAME
        if candidate.is_file():
            return candidate
    raise FleetError(
        f"{DYNSEC_NAME} not found in {', '.join(PLUGIN_DIRS)}: install the Debian package mosquitto"
    )


def init_dynsec(path: str | Path, *, site: str, hub_user: str, password: str) -> Path:
    """Create the dynamic-security file with one account: the hub, administrator of the plugin and
    speaker for the whole site (`motcua/v1/{site}/#`), pinned to its client id `{site}-{hub_user}`.

    Uses `mosquitto_ctrl dynsec init` (it hashes the password the way the plugin expects), then adds
    the hub's site role. Refuses to overwrite an existing file: it holds every device's account.
    """
    path = Path(path)
    if path.exists():
        raise FleetError(f"{path} exists already: it holds the broker's accounts, not overwriting it")
    tool = shutil.which("mosquitto_ctrl")
    if tool is None:
        raise FleetError("mosquitto_ctrl not found: install the Debian package mosquitto-clients")
    result = subprocess.run(
        [tool, "dynsec", "init", str(path), hub_user, password],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0 or not path.exists():
        raise FleetError(f"mosquitto_ctrl dynsec init failed: {(result.stderr or result.stdout).strip()}")
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("roles", []).append(
        {
            "rolename": HUB_ROLE,
            "textname": f"motcua hub of site {site}",
            "acls": [acl.as_json() for acl in hub_acls(Topics(site))],
        }
    )
    for client in data.get("clients", []):
        if client.get("username") == hub_user:
            client["clientid"] = f"{site}-{hub_user}"
            client["textname"] = f"motcua hub of site {site}"
            client.setdefault("roles", []).append({"rolename": HUB_ROLE, "priority": 0})
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path


def adapt_config(text: str, settings: Mapping[str, str | Sequence[str] | None]) -> str:
    """`text` (a mosquitto.conf) with the named options replaced.

    A value replaces every line of that option (a list: several lines; None: the option removed);
    options not in the text are appended. Everything else — the security settings above all — is
    kept as shipped, which is the point: tests run the configuration sites run.
    """
    wanted = {
        key: ([value] if isinstance(value, str) else list(value or [])) for key, value in settings.items()
    }
    lines: list[str] = []
    done: set[str] = set()
    for line in text.splitlines():
        key = line.split(maxsplit=1)[0] if line.strip() and not line.lstrip().startswith("#") else None
        if key in wanted:
            if key not in done:
                lines += [f"{key} {value}" for value in wanted[key]]
                done.add(key)
            continue
        lines.append(line)
    for key, values in wanted.items():
        if key not in done:
            lines += [f"{key} {value}" for value in values]
    return "\n".join(lines) + "\n"


def render_bridge(
    *,
    site: str,
    central_address: str,
    remote_prefix: str = "",
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    template: str | None = None,
) -> str:
    """The bridge section for conf.d/ from systemd/mosquitto/motcua-bridge.conf.template."""
    if any(ch.isspace() or ch in "+#" for ch in remote_prefix):
        raise FleetError(f"remote prefix {remote_prefix!r} may not contain spaces, '+' or '#'")
    credentials = "# no credentials: the central broker admits this site by address or certificate"
    if username:
        credentials = f"remote_username {username}"
        if password:
            credentials += f"\nremote_password {password}"
    tls = "# plain MQTT to the central broker (set a CA file to use TLS)"
    if ca_file:
        tls = f"bridge_cafile {ca_file}\nbridge_insecure false\nbridge_tls_version tlsv1.2"
    source = template if template is not None else BRIDGE_TEMPLATE.read_text(encoding="utf-8")
    return Template(source).substitute(
        site=site,
        central_address=central_address,
        remote_prefix=remote_prefix,
        remote_prefix_word=remote_prefix or '""',
        credentials=credentials,
        tls=tls,
    )


class SecureBroker(PrivateBroker):
    """A real Mosquitto running the shipped site configuration (dynamic security, no anonymous
    access) on a free local port, with the hub's account created; files live in `data_dir`.

    `conf_d` files (e.g. a rendered bridge) are included as on a site.
    """

    def __init__(
        self,
        *,
        site: str,
        hub_user: str = "hub",
        port: int = 0,
        data_dir: str | Path | None = None,
        persistence: bool = True,
        conf_d: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(port=port, data_dir=data_dir, persistence=persistence)
        self.site = site
        self.hub_user = hub_user
        self.hub_password = secrets.token_urlsafe(18)
        self.dynsec_path = self.data_dir / "dynamic-security.json"
        self.conf_d = self.data_dir / "conf.d"
        self.conf_d.mkdir(exist_ok=True)
        for name, text in (conf_d or {}).items():
            (self.conf_d / name).write_text(text, encoding="utf-8")
        if not self.dynsec_path.exists():
            init_dynsec(self.dynsec_path, site=site, hub_user=hub_user, password=self.hub_password)

    @property
    def hub_client_id(self) -> str:
        return f"{self.site}-{self.hub_user}"

    def config_text(self) -> str:
        settings: dict[str, str | Sequence[str] | None] = {
            "pid_file": None,
            "listener": f"{self.port} {self.bind}",
            "plugin": str(find_dynsec_plugin()),
            "plugin_opt_config_file": str(self.dynsec_path),
            "persistence": "true" if self.persistence else "false",
            "persistence_location": f"{self.data_dir}/",
            "log_dest": f"file {self.log_path}",
            "include_dir": str(self.conf_d),
        }
        if os.geteuid() == 0:
            # As root Mosquitto would drop to user "mosquitto", which cannot write our data dir.
            settings["user"] = pwd.getpwuid(os.geteuid()).pw_name
        return adapt_config(BROKER_CONF.read_text(encoding="utf-8"), settings)
