"""A hostile hall against the hub's web side (issue 13 items 6–9 and 11, issue 14 items 7–8): a real
hub (`python -m hub` on a real Mosquitto) driven over real HTTP sockets the way the attacks came —
parallel guesses fired at once, a crafted `next=`, a replayed cookie, nested JSON, a cross-site
`text/plain` POST, a second client reusing a request id, anonymous streams and idle sockets from
one machine. Clients on other addresses of 127.0.0.0/8 play the other machines of the LAN."""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from appliance.broker import PrivateBroker, find_free_port
from hub.web.auth import hash_password
from tests.support.hub import ROOT, site_config, write_config

PASSWORD = "mat-khau-thu-nghiem"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def cookie(self) -> str | None:
        """The session cookie it sets, as `name=value` for a Cookie header."""
        raw = self.headers.get("set-cookie", "")
        match = re.search(r"(motcua_session=[^;]*)", raw)
        return match.group(1) if match else None


@dataclass
class Site:
    """A running hub: its base address, its log, and HTTP from any loopback address."""

    host: str
    port: int
    output: list[str] = field(default_factory=list)
    tls: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.1",
        timeout: float = 20.0,
    ) -> Reply:
        if isinstance(body, str):
            body = body.encode()
        if self.tls is not None:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, source_address=(source, 0), context=self.tls
            )
        else:
            connection = http.client.HTTPConnection(
                self.host, self.port, timeout=timeout, source_address=(source, 0)
            )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def post_json(self, path: str, payload: Any, **options: Any) -> Reply:
        headers = {"Content-Type": "application/json", **options.pop("headers", {})}
        return self.request("POST", path, body=json.dumps(payload), headers=headers, **options)

    def login(
        self,
        username: str = "canbo1",
        password: str = PASSWORD,
        *,
        next_page: str | None = None,
        source: str = "127.0.0.1",
    ) -> tuple[Reply, str, str]:
        """The login form as a browser submits it: (reply, session cookie, CSRF token)."""
        cookie, token = self.login_form(source=source)
        query = "?" + urlencode({"next": next_page}) if next_page is not None else ""
        form = urlencode({"username": username, "password": password, "csrf_token": token})
        reply = self.request(
            "POST",
            "/login" + query,
            body=form,
            source=source,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        return reply, reply.cookie or cookie, self.csrf(reply.cookie or cookie, source=source)

    def login_form(self, *, source: str = "127.0.0.1") -> tuple[str, str]:
        page = self.request("GET", "/login", source=source)
        cookie = page.cookie
        assert cookie, page.headers
        return cookie, _csrf(page.body.decode())

    def csrf(self, cookie: str, *, source: str = "127.0.0.1") -> str:
        page = self.request("GET", "/", headers={"Cookie": cookie}, source=source)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.body.decode())
        return found.group(1) if found else ""

    def log_text(self) -> str:
        return "".join(self.output)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def start_hub(
    tmp_path: Path, broker: PrivateBroker, *, nofile: int | None = None, **overrides: Any
) -> tuple[subprocess.Popen[str], Site]:
    config = site_config(tmp_path, broker.port, **{k: v for k, v in overrides.items() if k != "hub"})
    config["hub"].update(overrides.get("hub", {}))
    scrypt = hash_password(PASSWORD)  # production hashes: a check costs what it costs on a site
    for officer in config["officers"]:
        officer["password_hash"] = scrypt
    path = write_config(tmp_path, config)

    def limit_files() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "-c", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=limit_files,
    )
    site = Site(
        "127.0.0.1",
        int(config["hub"].get("https_port") if config["hub"].get("https") else config["hub"]["http_port"]),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        site.output.append(line)
        if line.startswith("Hub ready"):
            threading.Thread(target=_drain, args=(process, site.output), daemon=True).start()
            return process, site
    process.kill()
    raise RuntimeError("hub did not start:\n" + "".join(site.output))


def _drain(process: subprocess.Popen[str], into: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.append(line)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def site(tmp_path: Path, broker: PrivateBroker) -> Iterator[Site]:
    process, running = start_hub(
        tmp_path,
        broker,
        limits={
            "max_streams": 6,
            "officer_streams": 2,
            "anonymous_streams_per_address": 3,
            "idle_timeout_s": 2,
        },
    )
    try:
        yield running
    finally:
        stop(process)


def at_once(count: int, attempt: Callable[[int], Reply]) -> Counter[int]:
    """Fire `count` requests together (each thread waits at a barrier) and count the statuses."""
    barrier = threading.Barrier(count)

    def one(index: int) -> int:
        barrier.wait()
        return attempt(index).status

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(one, range(count)))


# -- issue 13 item 6: limits reserve before the work ---------------------------------------------


def test_parallel_wrong_form_logins_get_only_the_limit_of_password_checks(site: Site) -> None:
    cookie, token = site.login_form(source="127.0.0.2")
    form = urlencode({"username": "canbo1", "password": "doan-bua", "csrf_token": token})

    def guess(_: int) -> Reply:
        return site.request(
            "POST",
            "/login",
            body=form,
            source="127.0.0.2",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )

    statuses = at_once(60, guess)
    assert statuses[401] == 10, statuses  # ten passwords checked, as the limit says
    assert statuses[429] == 50, statuses
    # The right password from that address now waits too; another machine is not affected.
    assert site.login(source="127.0.0.2")[0].status == 429
    assert site.login(source="127.0.0.3")[0].status == 302


def test_parallel_wrong_basic_auth_gets_only_the_limit_of_checks(site: Site) -> None:
    import base64

    wrong = "Basic " + base64.b64encode(b"canbo1:doan-bua").decode()

    def guess(_: int) -> Reply:
        return site.request("GET", "/api/v1/counters/1", headers={"Authorization": wrong}, source="127.0.0.4")

    statuses = at_once(60, guess)
    assert statuses[401] == 10 and statuses[429] == 50, statuses


def test_parallel_enrolment_code_guesses_get_only_the_limit_of_checks(site: Site) -> None:
    def guess(index: int) -> Reply:
        return site.post_json("/api/v1/enroll", {"code": f"AAAA-BBBB-{index:04d}"[:14]}, source="127.0.0.5")

    statuses = at_once(60, guess)
    assert statuses[429] == 50, statuses
    assert sum(n for status, n in statuses.items() if status != 429) == 10, statuses


def test_parallel_public_tickets_stop_at_the_limit(site: Site) -> None:
    def take(_: int) -> Reply:
        return site.post_json("/api/v1/tickets", {"service_id": "dat-dai"}, source="127.0.0.6")

    statuses = at_once(60, take)
    assert statuses[201] == 20 and statuses[429] == 40, statuses
    board = site.request("GET", "/api/v1/queue").json()
    assert next(s for s in board["services"] if s["id"] == "dat-dai")["waiting"] == 20


# -- issue 13 item 7: no open redirect after login --------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example/",
    ],
)
def test_login_never_redirects_off_site(site: Site, target: str) -> None:
    page = site.request("GET", "/login?" + urlencode({"next": target}))
    assert page.status == 200
    reply, _, _ = site.login(next_page=target, source="127.0.0.7")
    assert reply.status == 302, reply.body[:300]
    landing = urljoin(f"http://{site.host}:{site.port}/login", reply.headers["location"])
    assert urlsplit(landing).netloc == f"{site.host}:{site.port}", landing
    # A browser drops tabs and newlines: the cleaned location is still this site.
    cleaned = re.sub(r"[\t\n\r]", "", reply.headers["location"]).replace("\\", "/")
    assert not cleaned.startswith("//")


def test_a_good_next_page_is_kept(site: Site) -> None:
    reply, _, _ = site.login(next_page="/counter/2?lang=en")
    assert reply.status == 302 and reply.headers["location"].endswith("/counter/2?lang=en")


# -- issue 13 item 8: sessions end at once ----------------------------------------------------


def test_logout_ends_the_session_for_a_copied_cookie(site: Site) -> None:
    _, cookie, token = site.login()
    assert site.request("GET", "/api/v1/counters/1", headers={"Cookie": cookie}).status == 200
    site.request("POST", "/logout", headers={"Cookie": cookie})
    # The attacker kept a copy of the cookie from before the logout.
    assert site.request("GET", "/api/v1/counters/1", headers={"Cookie": cookie}).status == 401
    posted = site.request(
        "POST",
        "/api/v1/counters/1/open",
        headers={"Cookie": cookie, "X-CSRF-Token": token, "Content-Type": "application/json"},
        body="{}",
    )
    assert posted.status == 401


def test_logout_ends_the_open_console_stream(site: Site) -> None:
    _, cookie, _ = site.login()
    status, raw = _open_stream(site, "/counter/1/events", "127.0.0.1", {"Cookie": cookie})
    try:
        assert status == 200
        site.request("POST", "/logout", headers={"Cookie": cookie})
        raw.settimeout(5)
        received = b""
        deadline = time.monotonic() + 5
        while b"0\r\n\r\n" not in received and time.monotonic() < deadline:
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
        assert b"0\r\n\r\n" in received or not chunk, received[-200:]  # the stream ended
    finally:
        raw.close()


def test_a_password_change_ends_every_other_session(site: Site) -> None:
    _, stolen, _ = site.login(source="127.0.0.8")
    _, mine, token = site.login()
    form = urlencode(
        {"current": PASSWORD, "new": "mat-khau-moi-123", "repeat": "mat-khau-moi-123", "csrf_token": token}
    )
    changed = site.request(
        "POST",
        "/password",
        body=form,
        headers={"Cookie": mine, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert changed.status == 200
    assert (
        site.request("GET", "/api/v1/counters/1", headers={"Cookie": stolen}, source="127.0.0.8").status
        == 401
    )


def test_removing_an_officer_ends_their_session(site: Site, tmp_path: Path) -> None:
    """The site file loses the officer (as the head of office edits it); the hub brings the accounts
    in line, as it does at start, and the officer's open session stops working."""
    from hub.site import HubConfig
    from hub.web.auth import UserStore

    _, cookie, _ = site.login()
    assert site.request("GET", "/api/v1/counters/1", headers={"Cookie": cookie}).status == 200
    config = HubConfig.model_validate(site_config(tmp_path, 1883))
    users = UserStore(tmp_path / "hub.db")
    try:
        users.ensure_officers([o for o in config.officers if o.username != "canbo1"])
    finally:
        users.close()
    assert site.request("GET", "/api/v1/counters/1", headers={"Cookie": cookie}).status == 401


def test_the_current_password_check_is_rate_limited(site: Site) -> None:
    _, cookie, token = site.login(source="127.0.0.9")
    form = urlencode({"current": "doan-bua", "new": "x" * 12, "repeat": "x" * 12, "csrf_token": token})

    def guess(_: int) -> Reply:
        return site.request(
            "POST",
            "/password",
            body=form,
            source="127.0.0.9",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )

    statuses = at_once(30, guess)
    assert statuses[400] == 10 and statuses[429] == 20, statuses


# -- issue 13 item 11, issue 14 item 7: bad bodies ---------------------------------------------


def test_deeply_nested_json_is_a_400_and_one_log_line(site: Site) -> None:
    import base64

    nested = "[" * 30_000 + "]" * 30_000  # under the 64 KiB body limit
    basic = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
    before = len(site.output)
    for path, headers in (
        ("/api/v1/tickets", {}),
        ("/api/v1/counters/1/call-next", basic),
        ("/api/v1/enroll", {}),
    ):
        reply = site.request(
            "POST", path, body=nested, headers={"Content-Type": "application/json", **headers}
        )
        assert reply.status == 400, (path, reply.body[:200])
        assert reply.json()["error"]["code"] == "bad_json"
    time.sleep(0.3)
    assert "Traceback" not in "".join(site.output[before:])


def test_a_cross_site_text_plain_post_takes_no_number(site: Site) -> None:
    # What a form on any web page can make a visitor's browser send, without a CORS preflight.
    forged = site.request(
        "POST",
        "/api/v1/tickets",
        body='{"service_id": "dat-dai"}',
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
        source="127.0.0.10",
    )
    assert forged.status == 415 and forged.json()["error"]["code"] == "unsupported_media_type"
    other_site = site.post_json(
        "/api/v1/tickets",
        {"service_id": "dat-dai"},
        headers={"Origin": "https://evil.example"},
        source="127.0.0.10",
    )
    assert other_site.status == 403 and other_site.json()["error"]["code"] == "cross_origin"
    board = site.request("GET", "/api/v1/queue").json()
    assert next(s for s in board["services"] if s["id"] == "dat-dai")["waiting"] == 0
    own = site.post_json(
        "/api/v1/tickets",
        {"service_id": "dat-dai"},
        headers={"Origin": f"http://{site.host}:{site.port}"},
        source="127.0.0.10",
    )
    assert own.status == 201


# -- issue 14 item 8: request ids are per caller and per method ------------------------------


def test_another_client_reusing_a_request_id_gets_its_own_ticket(site: Site) -> None:
    first = site.post_json(
        "/api/v1/tickets", {"service_id": "ho-tich", "request_id": "r-1"}, source="127.0.0.11"
    )
    again = site.post_json(
        "/api/v1/tickets", {"service_id": "ho-tich", "request_id": "r-1"}, source="127.0.0.11"
    )
    other = site.post_json(
        "/api/v1/tickets", {"service_id": "ho-tich", "request_id": "r-1"}, source="127.0.0.12"
    )
    assert first.status == again.status == other.status == 201
    assert again.json()["token"] == first.json()["token"]  # a retry of the same client
    assert other.json()["token"] != first.json()["token"]  # never someone else's ticket
    assert other.json()["number"] != first.json()["number"]


def test_a_request_id_is_scoped_to_the_method(site: Site) -> None:
    import base64

    basic = {"Authorization": "Basic " + base64.b64encode(f"canbo1:{PASSWORD}".encode()).decode()}
    site.post_json("/api/v1/tickets", {"service_id": "dat-dai"})
    site.post_json("/api/v1/counters/1/open", {}, headers=basic)
    called = site.post_json("/api/v1/counters/1/call-next", {"request_id": "k-1"}, headers=basic)
    assert called.status == 200 and "ticket" in called.json()
    completed = site.post_json("/api/v1/counters/1/complete", {"request_id": "k-1"}, headers=basic)
    assert completed.status == 200
    view = site.request("GET", "/api/v1/counters/1", headers=basic).json()
    assert view["serving"] is None  # the complete ran; it was not answered with the call's reply


# -- issue 13 item 11: streams and idle sockets -------------------------------------------------


def _open_stream(
    site: Site, path: str, source: str, headers: dict[str, str] | None = None
) -> tuple[int, socket.socket]:
    raw = socket.create_connection((site.host, site.port), timeout=5, source_address=(source, 0))
    lines = [f"GET {path} HTTP/1.1", f"Host: {site.host}:{site.port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = raw.recv(1024).decode(errors="replace")
    return int(head.split()[1]), raw


def test_anonymous_streams_are_capped_per_address_and_officers_keep_theirs(site: Site) -> None:
    token = site.post_json("/api/v1/tickets", {"service_id": "dat-dai"}).json()["token"]
    opened: list[socket.socket] = []
    try:
        # Limits of this site: 6 streams, 2 kept for officers, 3 per anonymous address.
        for _ in range(3):
            status, raw = _open_stream(site, f"/t/{token}/events", "127.0.0.13")
            opened.append(raw)
            assert status == 200
        status, raw = _open_stream(site, f"/t/{token}/events", "127.0.0.13")
        opened.append(raw)
        assert status == 503  # one address cannot take them all
        status, raw = _open_stream(site, f"/t/{token}/events", "127.0.0.14")
        opened.append(raw)
        assert status == 200
        status, raw = _open_stream(site, f"/t/{token}/events", "127.0.0.15")
        opened.append(raw)
        assert status == 503  # anonymous viewers have their share, no more
        _, cookie, _ = site.login(source="127.0.0.15")
        status, raw = _open_stream(site, "/counter/1/events", "127.0.0.15", {"Cookie": cookie})
        opened.append(raw)
        assert status == 200  # the officer's console still goes live
    finally:
        for raw in opened:
            raw.close()


def test_idle_connections_are_closed(site: Site) -> None:
    with socket.create_connection(
        (site.host, site.port), timeout=10, source_address=("127.0.0.16", 0)
    ) as raw:
        started = time.monotonic()
        assert raw.recv(1) == b""  # the hub closed it (idle_timeout_s = 2)
        assert time.monotonic() - started < 8


def test_idle_sockets_from_one_machine_do_not_starve_officers(tmp_path: Path, broker: PrivateBroker) -> None:
    # The hub with few descriptors, as with the default LimitNOFILE against a thousand sockets.
    process, site = start_hub(
        tmp_path, broker, nofile=256, limits={"connections_per_address": 20, "idle_timeout_s": 60}
    )
    idle: list[socket.socket] = []
    try:
        for _ in range(300):
            try:
                idle.append(
                    socket.create_connection(
                        (site.host, site.port), timeout=5, source_address=("127.0.0.17", 0)
                    )
                )
            except OSError:
                break
        time.sleep(0.5)
        started = time.monotonic()
        healthy = site.request("GET", "/api/v1/queue", source="127.0.0.18", timeout=10)
        assert healthy.status == 200
        assert time.monotonic() - started < 5
    finally:
        for raw in idle:
            raw.close()
        stop(process)


# -- issue 13 item 9: HTTPS ---------------------------------------------------------------------


def test_hub_serves_https_with_its_site_ca_and_redirects_http(tmp_path: Path, broker: PrivateBroker) -> None:
    https_port, http_port = find_free_port(), find_free_port()
    process, site = start_hub(
        tmp_path,
        broker,
        hub={
            "https": True,
            "https_port": https_port,
            "http_port": http_port,
            "tls_dir": str(tmp_path / "tls"),
            "public_url": f"https://127.0.0.1:{https_port}",
        },
    )
    try:
        ca = tmp_path / "tls" / "ca.crt"
        assert ca.exists() and (tmp_path / "tls" / "hub.key").stat().st_mode & 0o077 == 0
        plain = Site("127.0.0.1", http_port)
        moved = plain.request("GET", "/counter/1?lang=en")
        assert moved.status == 301
        assert moved.headers["location"] == f"https://127.0.0.1:{https_port}/counter/1?lang=en"
        site.tls = ssl.create_default_context(cafile=str(ca))  # verified against the site CA
        reply, cookie, _ = site.login()
        assert reply.status == 302
        assert "Secure" in reply.headers["set-cookie"] and "HttpOnly" in reply.headers["set-cookie"]
        assert reply.headers["strict-transport-security"].startswith("max-age=")
        assert site.request("GET", "/api/v1/counters/1", headers={"Cookie": cookie}).status == 200
        # A client that does not trust the site CA is refused: this is not plain HTTP in disguise.
        with pytest.raises(ssl.SSLError):
            Site("127.0.0.1", https_port, tls=ssl.create_default_context()).request("GET", "/healthz")
        # A client that never starts its handshake does not hold up the others.
        with socket.create_connection(("127.0.0.1", https_port), timeout=5):
            assert site.request("GET", "/healthz", timeout=5).status in (200, 503)
        _enrol_over_https(site, tmp_path, https_port, ca)
    finally:
        stop(process)


def _enrol_over_https(site: Site, tmp_path: Path, https_port: int, ca: Path) -> None:
    """`motcua enroll` pins the site CA by the fingerprint the fleet page prints."""
    import base64

    from hub.web.tls import fingerprint

    admin = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
    page = site.request(
        "POST",
        "/devices/add",
        body=urlencode({"role": "printer", "place": "kiosk:kiosk-1"}),
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status == 200, page.body[:300]
    text = page.body.decode()
    pin = fingerprint(ca.read_text())
    command = re.search(r"motcua enroll --hub (\S+) --code (\S+) --ca-sha256 ([0-9a-f]{64})", text)
    assert command, text
    assert command.group(3) == pin
    code = command.group(2)
    motcua = Path(sys.executable).with_name("motcua")
    hub_url = f"https://127.0.0.1:{https_port}"

    def enroll(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(motcua),
                "enroll",
                "--hub",
                hub_url,
                "--code",
                code,
                "--out",
                str(tmp_path / "dev" / "printer.toml"),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    impostor = enroll("--ca-sha256", "0" * 64)
    assert impostor.returncode == 1 and "SHA-256" in impostor.stderr
    unpinned = enroll()  # the site CA is not a public one: refused, and the code is not spent
    assert unpinned.returncode == 1 and "--ca-sha256" in unpinned.stderr
    done = enroll("--ca-sha256", pin)
    assert done.returncode == 0, done.stderr
    assert "printer-1" in done.stdout


def test_the_site_ca_stays_and_the_server_certificate_follows_the_names(tmp_path: Path) -> None:
    """Devices pin the CA: a restart, or a new name for the hub, never replaces it."""
    from cryptography import x509

    from hub.web.tls import ensure_site_certificates, fingerprint

    first = ensure_site_certificates(tmp_path, ["127.0.0.1", "hub.local"])
    pin = fingerprint(first.ca.read_text()) if first.ca else ""
    cert = first.cert.read_bytes()
    again = ensure_site_certificates(tmp_path, ["127.0.0.1", "hub.local"])
    assert again.cert.read_bytes() == cert  # nothing to renew
    renamed = ensure_site_certificates(tmp_path, ["127.0.0.1", "hub.local", "motcua.lan", "10.0.0.2"])
    assert renamed.ca is not None and fingerprint(renamed.ca.read_text()) == pin
    names = x509.load_pem_x509_certificate(renamed.cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert {"motcua.lan", "hub.local"} <= set(names.value.get_values_for_type(x509.DNSName))
    context = ssl.create_default_context(cafile=str(renamed.ca))
    context.load_verify_locations(cadata=renamed.ca.read_text())  # the chain verifies against the CA
