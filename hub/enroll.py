"""`motcua enroll --hub URL --code CODE`: give this machine its identity from the hub.

Sends the one-time code to the hub (POST /api/v1/enroll), receives the device id, site, role, broker
address and credentials (and the CA certificate when the broker uses TLS) and the role's starting
configuration, writes the device's TOML (mode 0640, it holds a password) and says which systemd unit
to enable. A used, expired or mistyped code is refused with the hub's message, in Vietnamese and in
English. An existing TOML is never lost: it is kept next to the new one as `*.bak-<time>`.

Over HTTPS the hub is verified before the code is sent: against the site CA pinned by its SHA-256
(`--ca-sha256`, printed in the fleet page's command), a CA file (`--ca-file`), or the system's CAs
for a publicly trusted certificate. Plain HTTP still works (the demo) with a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import hmac
import json
import os
import socket
import ssl
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import tomli_w

from appliance.i18n import message

DEFAULT_TIMEOUT = 15.0
MAX_REPLY = 256 * 1024
CA_NAME = "motcua-ca.pem"


class EnrolError(Exception):
    """Enrolment failed; `key`/`values` make the message people read (appliance.i18n)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(message(key, "en", **values))
        self.key = key
        self.values = values


def both(key: str, **values: object) -> str:
    """The message in Vietnamese, then in English: the technician may read either."""
    return f"{message(key, 'vi', **values)}\n{message(key, 'en', **values)}"


def site_ca(hub: str, expected_sha256: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The hub's site CA (PEM), fetched over an unverified TLS connection and accepted only if its
    SHA-256 is the one the technician copied from the fleet page: the pin replaces the trust a
    browser would get from a public CA, before any secret is sent."""
    from hub.web.tls import fingerprint

    url = hub.rstrip("/") + "/api/v1/site-ca"
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=unverified) as response:
            pem = response.read(MAX_REPLY).decode("ascii")
        got = fingerprint(pem)
    except urllib.error.HTTPError as error:
        raise EnrolError("enrol_hub_unreachable", url=url, detail=f"HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EnrolError("enrol_hub_unreachable", url=url, detail=str(reason)) from None
    except ValueError as error:
        raise EnrolError("enrol_bad_reply", detail=str(error)) from None
    wanted = expected_sha256.replace(":", "").strip().lower()
    if not hmac.compare_digest(got, wanted):
        raise EnrolError("enrol_ca_mismatch", got=got)
    return pem


def tls_context(ca_pem: str | None, ca_file: str | None) -> ssl.SSLContext:
    """Verify the hub against the pinned site CA, a CA file, or (neither) the system's CAs."""
    if ca_pem is not None:
        return ssl.create_default_context(cadata=ca_pem)
    return ssl.create_default_context(cafile=ca_file)


def request_identity(
    hub: str, code: str, *, timeout: float = DEFAULT_TIMEOUT, context: ssl.SSLContext | None = None
) -> dict[str, Any]:
    """The hub's answer to the code, or EnrolError with the hub's own reason."""
    url = hub.rstrip("/") + "/api/v1/enroll"
    body = json.dumps({"code": code, "hostname": socket.gethostname()}).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", "Accept-Language": "vi"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            raw = response.read(MAX_REPLY + 1)
    except urllib.error.HTTPError as error:
        raise _refusal(error) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise EnrolError("enrol_tls_failed", detail=reason.verify_message or str(reason)) from None
        raise EnrolError("enrol_hub_unreachable", url=url, detail=str(reason)) from None
    if len(raw) > MAX_REPLY:
        raise EnrolError("enrol_bad_reply", detail="too large")
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise EnrolError("enrol_bad_reply", detail=str(error)) from None
    required = ("device_id", "site", "role", "mqtt", "unit", "config_path")
    if not isinstance(reply, dict) or any(key not in reply for key in required):
        raise EnrolError(
            "enrol_bad_reply", detail="missing " + ", ".join(k for k in required if k not in reply)
        )
    return reply


def _refusal(error: urllib.error.HTTPError) -> EnrolError:
    try:
        body = json.loads(error.read(MAX_REPLY).decode("utf-8"))
        detail = body["error"]
        code = str(detail["code"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return EnrolError("enrol_hub_unreachable", url=error.url, detail=f"HTTP {error.code}")
    values = detail.get("details") if isinstance(detail.get("details"), dict) else {}
    return EnrolError(code, **values)


def device_toml(identity: dict[str, Any], *, ca_file: str | None) -> dict[str, Any]:
    """The device's whole TOML: identity, broker, then the role's sections."""
    mqtt = dict(identity["mqtt"])
    if ca_file:
        mqtt["ca_file"] = ca_file
    data: dict[str, Any] = {
        "device_id": identity["device_id"],
        "site": identity["site"],
        "role": identity["role"],
        "language": identity.get("language", "vi"),
        "mqtt": {key: value for key, value in mqtt.items() if value is not None},
    }
    for key, value in (identity.get("config") or {}).items():
        if key not in data:
            data[key] = value
    return data


def check(data: dict[str, Any]) -> str | None:
    """What the role's own model says about the written file, or None when it is valid."""
    from hub.fleet.roles import check_role_config

    identity = {key: data[key] for key in ("device_id", "site", "role", "language", "mqtt") if key in data}
    sections = {key: value for key, value in data.items() if key not in identity}
    return check_role_config(str(data["role"]), identity, sections)


def write_private(path: Path, text: str, mode: int = 0o640) -> Path | None:
    """Write `text` atomically; an existing file is kept as `<name>.bak-<time>` (returned)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        from appliance.timeutil import now

        backup = path.with_name(f"{path.name}.bak-{now().strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, backup)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        if os.geteuid() == 0:
            # The daemons run as user motcua: let them read it, nobody else.
            with contextlib.suppress(KeyError, PermissionError):
                os.chown(temporary, 0, grp.getgrnam("motcua").gr_gid)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return backup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua enroll",
        description="Enrol this device with the site hub using the one-time code from its Devices page.",
    )
    parser.add_argument("--hub", required=True, help="the hub's web address, e.g. https://hub.local:8443")
    parser.add_argument("--code", required=True, help="the one-time enrolment code, e.g. ABCD-EFGH-JKMN")
    parser.add_argument(
        "--ca-sha256",
        help="SHA-256 of the site CA, as on the Devices page: the hub is trusted only if its CA matches",
    )
    parser.add_argument("--ca-file", help="trust this CA file (PEM) for the hub instead of pinning")
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        help="where to write the TOML (default: the path the hub names, /etc/motcua/<role>.toml)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for the hub")
    args = parser.parse_args(argv)

    from hub.fleet.codes import normalise
    from hub.fleet.roles import CONFIG_DIR

    if normalise(args.code) is None:
        print(both("enrol_code_malformed"), file=sys.stderr)
        return 2
    folder = args.out.parent if args.out is not None else Path(CONFIG_DIR)
    if not _writable_dir(folder):
        # Checked before the code is spent: a code used for nothing would need a new one.
        print(both("enrol_cannot_write", path=folder, detail="permission denied (sudo?)"), file=sys.stderr)
        return 1
    pinned: str | None = None
    context: ssl.SSLContext | None = None
    try:
        if args.hub.lower().startswith("https://"):
            if args.ca_sha256:
                pinned = site_ca(args.hub, args.ca_sha256, timeout=args.timeout)
            context = tls_context(pinned, args.ca_file)
        else:
            print(both("enrol_plain_http", url=args.hub), file=sys.stderr)
        identity = request_identity(args.hub, args.code, timeout=args.timeout, context=context)
    except EnrolError as error:
        print(both(error.key, **error.values), file=sys.stderr)
        return 1
    target: Path = args.out or Path(str(identity["config_path"]))
    try:
        ca_file = None
        # The broker's CA as the hub hands it out; else the pinned site CA, which signs the
        # certificate the site's Mosquitto serves when it uses the hub's.
        broker_ca = identity.get("ca_pem") or (pinned if (identity.get("mqtt") or {}).get("tls") else None)
        if broker_ca:
            ca_path = target.with_name(CA_NAME)
            write_private(ca_path, str(broker_ca), mode=0o644)
            ca_file = str(ca_path)
        data = device_toml(identity, ca_file=ca_file)
        header = (
            f"# motcua {identity['role']} {identity['device_id']} of site {identity['site']}, "
            f"enrolled at {identity.get('place') or '?'}.\n"
            "# Written by `motcua enroll`; the hub pushes later changes live (devices/<id>/config).\n"
        )
        backup = write_private(target, header + tomli_w.dumps(data))
    except OSError as error:
        print(both("enrol_cannot_write", path=target, detail=error.strerror or str(error)), file=sys.stderr)
        print(json.dumps(identity, ensure_ascii=False), file=sys.stderr)  # not lost: the code is spent
        return 1
    print(both("enrol_done", device=identity["device_id"], role=identity["role"], site=identity["site"]))
    print(both("enrol_written", path=target))
    if backup is not None:
        print(both("enrol_backup", path=backup))
    problem = check(data)
    if problem:
        print(both("enrol_config_warning", detail=problem))
    print(both("enrol_enable", unit=identity["unit"]))
    return 0


def _writable_dir(folder: Path) -> bool:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


if __name__ == "__main__":
    sys.exit(main())
