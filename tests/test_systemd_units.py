"""systemd/: every unit passes `systemd-analyze verify` and has what the design asks of it; the udev
rules parse and name the hardware; the shipped Mosquitto configuration runs in a real Mosquitto
(with its optional TLS listener); a real daemon sends READY=1 and watchdog pings to NOTIFY_SOCKET."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.broker import PrivateBroker
from appliance.config import MqttSettings
from appliance.mqtt import Link
from hub.fleet.broker_setup import BROKER_CONF, SecureBroker, adapt_config, render_bridge
from tests.support.hub import site_config, write_config

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "systemd"
UNITS = sorted(SYSTEMD.glob("motcua-*.service"))
HARDWARE = {
    "printer": "char-usb",
    "scanner": "char-input r",
    "led": "char-ttyUSB",
    "display": "char-drm",
    "kiosk": "char-drm",
}


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file: [(key, value)] in order (systemd keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            current = stripped.strip("[]")
            sections.setdefault(current, [])
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, _, value = stripped.partition("=")
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [value for name, value in section if name == key]


def test_one_unit_per_role_and_a_target() -> None:
    assert {path.stem.removeprefix("motcua-") for path in UNITS} == {
        "hub",
        "kiosk",
        "printer",
        "scanner",
        "led",
        "display",
    }
    target = parse_unit(SYSTEMD / "motcua.target")
    assert values(target["Install"], "WantedBy") == ["multi-user.target"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_unit_has_watchdog_restart_hardening_and_its_devices(path: Path) -> None:
    unit = parse_unit(path)
    service, head = unit["Service"], unit["Unit"]
    assert values(service, "Type") == ["notify"]
    assert values(service, "WatchdogSec") and values(service, "Restart") == ["on-failure"]
    assert values(head, "StartLimitIntervalSec"), "StartLimitIntervalSec belongs in [Unit]"
    assert not values(service, "StartLimitIntervalSec")
    assert values(service, "User") == ["motcua"] and values(service, "NoNewPrivileges") == ["yes"]
    assert values(service, "ProtectSystem") == ["strict"] and values(service, "DevicePolicy") == ["closed"]
    assert values(service, "PrivateDevices") in ([], ["no"]), "PrivateDevices=yes would hide the hardware"
    allowed = values(service, "DeviceAllow")
    assert all("*" not in rule and "?" not in rule for rule in allowed), "DeviceAllow takes no globs"
    role = path.stem.removeprefix("motcua-")
    if role in HARDWARE:
        assert any(rule.startswith(HARDWARE[role]) for rule in allowed), allowed
    else:
        assert allowed == []
    assert values(unit["Install"], "WantedBy") == ["motcua.target"]
    assert values(head, "PartOf") == ["motcua.target"]
    exec_start = values(service, "ExecStart")[0].split()
    assert exec_start[1] == role and exec_start[-2:] == ["-c", f"/etc/motcua/{role}.toml"]
    if role == "hub":
        # Idle sockets must not use up the descriptors officers' requests need (issue 13, 11).
        assert int(values(service, "LimitNOFILE")[0]) >= 65536


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_unit_starts_after_the_clock_is_set(path: Path) -> None:
    """A Pi has no real-time clock: every daemon orders after time-sync.target (issue 14.2)."""
    unit = parse_unit(path)["Unit"]
    assert any("time-sync.target" in value.split() for value in values(unit, "After"))
    assert "time-sync.target" in values(unit, "Wants")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_passes_on_every_unit(tmp_path: Path) -> None:
    # The units name the installed program (/opt/motcua/...); verify checks that it exists, so point
    # them at this checkout's instead.
    motcua = Path(sys.executable).with_name("motcua")
    for path in [*UNITS, SYSTEMD / "motcua.target"]:
        text = path.read_text(encoding="utf-8").replace("/opt/motcua/.venv/bin/motcua", str(motcua))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    files = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    # Unknown or misspelt keys are only warnings for systemd: count them as failures here.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if re.search(r"Unknown|Failed|Invalid|not executable|ignoring|error", line, re.I)
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


UDEV = SYSTEMD / "udev" / "70-motcua.rules"
_TOKEN = re.compile(r'\s*([A-Z_]+)(\{[^}]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "ENV", "ATTR", "ATTRS", "DRIVERS", "TAG"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "TAG", "ENV", "GOTO", "LABEL", "RUN"}


def udev_rules() -> list[list[tuple[str, str, str, str]]]:
    rules = []
    for number, line in enumerate(UDEV.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens, position = [], 0
        while position < len(line):
            found = _TOKEN.match(line, position)
            assert found, f"70-motcua.rules:{number}: cannot parse from {line[position:]!r}"
            key, attr, op, value = found.groups()
            tokens.append((key, attr or "", op, value))
            position = found.end()
        rules.append(tokens)
    return rules


def test_udev_rules_parse_and_give_stable_names() -> None:
    rules = udev_rules()
    labels = {value for rule in rules for key, _, _, value in rule if key == "LABEL"}
    for rule in rules:
        for key, _, op, value in rule:
            if op in ("==", "!="):
                assert key in MATCH_KEYS, f"unknown match key {key}"
            else:
                assert key in ASSIGN_KEYS, f"unknown assignment key {key}"
            if key == "GOTO":
                assert value in labels
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value)
        symlinks = [value for key, _, _, value in rule if key == "SYMLINK"]
        if symlinks:
            assert ("TAG", "", "+=", "systemd") in rule, f'{symlinks} without TAG+="systemd"'
            assert any(key == "GROUP" for key, *_ in rule)
            assert any(op == "==" for _, _, op, _ in rule), "a rule that names devices must match something"
    names = {value for rule in rules for key, _, _, value in rule if key == "SYMLINK"}
    assert {"motcua-printer", "motcua-scanner", "motcua-board"} <= names
    scanner = next(rule for rule in rules if ("SYMLINK", "", "+=", "motcua-scanner") in rule)
    assert ("ENV", "{LIBINPUT_IGNORE_DEVICE}", "=", "1") in scanner
    assert ("GROUP", "", "=", "input") in scanner


def test_shipped_mosquitto_config_runs_secured_in_a_real_mosquitto(tmp_path: Path) -> None:
    shipped = BROKER_CONF.read_text(encoding="utf-8")
    for line in (
        "allow_anonymous false",
        "set_tcp_nodelay true",
        "persistence true",
        "per_listener_settings false",
    ):
        assert line in shipped.splitlines()
    with SecureBroker(site="s", data_dir=tmp_path / "broker") as broker:
        assert "mosquitto_dynamic_security.so" in broker.config_text()
        anonymous = Link(
            MqttSettings(port=broker.port, reconnect_max=0.3), site="s", device_id="x", role="kiosk"
        )
        with anonymous:
            assert not anonymous.wait_connected(1.0), "the broker let an anonymous client in"
        hub = Link(
            MqttSettings(port=broker.port, username="hub", password=broker.hub_password),
            site="s",
            device_id="hub",
            role="hub",
        )
        with hub:
            assert hub.wait_connected(5)
        wrong_id = Link(
            MqttSettings(port=broker.port, username="hub", password=broker.hub_password, reconnect_max=0.3),
            site="s",
            device_id="hub",
            role="hub",
            client_id="other",
        )
        with wrong_id:
            assert not wrong_id.wait_connected(1.0), "the hub's account works only with the hub's client id"
    assert (tmp_path / "broker" / "mosquitto.db").exists()  # persistence is on


def test_shipped_tls_listener_with_the_site_ca(tmp_path: Path) -> None:
    """The shipped conf.d/motcua-tls.conf with the certificates `python -m hub.web.tls` makes (as
    install.sh does): a device that trusts the site CA connects over TLS; the plain listener of the
    shipped mosquitto.conf is for the hub on this machine only."""
    from hub.web.tls import ensure_site_certificates

    shipped = BROKER_CONF.read_text(encoding="utf-8")
    assert "listener 1883 127.0.0.1" in shipped.splitlines()
    made = ensure_site_certificates(tmp_path / "tls", ["127.0.0.1", "localhost"], site="s")
    assert made.ca is not None
    conf = (SYSTEMD / "mosquitto" / "motcua-tls.conf").read_text(encoding="utf-8")
    assert "listener 8883" in conf.splitlines()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tls_port = probe.getsockname()[1]
    tls = adapt_config(
        conf,
        {
            "listener": f"{tls_port} 127.0.0.1",
            "certfile": str(made.cert),
            "keyfile": str(made.key),
            "cafile": str(made.ca),
        },
    )
    with SecureBroker(site="s", data_dir=tmp_path / "broker", conf_d={"motcua-tls.conf": tls}) as broker:
        settings = MqttSettings(
            port=tls_port, username="hub", password=broker.hub_password, tls=True, ca_file=str(made.ca)
        )
        with Link(settings, site="s", device_id="hub", role="hub") as hub:
            assert hub.wait_connected(5)
        context = ssl.create_default_context()  # an unknown CA is refused: TLS is really on
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw, pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()


def test_bridge_template_renders_every_direction() -> None:
    text = render_bridge(
        site="dn-lt",
        central_address="central:8883",
        remote_prefix="dongnai/",
        username="site-dn-lt",
        password="secret",
        ca_file="/etc/motcua/central-ca.pem",
    )
    lines = text.splitlines()
    for expected in (
        "connection motcua-dn-lt",
        "bridge_protocol_version mqttv50",
        "cleansession false",
        'topic motcua/v1/dn-lt/queue/events out 1 "" dongnai/',
        'topic motcua/v1/dn-lt/province/commands in 1 "" dongnai/',
        "bridge_cafile /etc/motcua/central-ca.pem",
        "remote_password secret",
    ):
        assert expected in lines
    assert "$" not in text
    # Nothing from outside the site reaches devices' configuration or commands directly.
    assert not [line for line in lines if line.startswith("topic") and "devices/" in line and " in " in line]
    plain = render_bridge(site="x", central_address="c:1883")
    assert 'topic motcua/v1/x/queue/events out 1 "" ""' in plain.splitlines()


def test_hub_sends_ready_and_watchdog_pings_to_notify_socket(tmp_path: Path, broker: PrivateBroker) -> None:
    sock_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(sock_path))
    listener.settimeout(0.5)
    config = write_config(tmp_path, site_config(tmp_path, broker.port))
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000", "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHDOG_PID", None)  # the pings are the hub's own: systemd would give its pid
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "-c", str(config), "--no-web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and seen.count("WATCHDOG=1") < 3:
            try:
                seen.append(listener.recv(4096).decode())
            except TimeoutError:
                assert process.poll() is None, "the hub exited"
        assert "READY=1" in seen and seen.count("WATCHDOG=1") >= 3, seen
        assert seen.index("READY=1") < seen.index("WATCHDOG=1")
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while "STOPPING=1" not in seen and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                seen.append(listener.recv(4096).decode())
        assert "STOPPING=1" in seen
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
