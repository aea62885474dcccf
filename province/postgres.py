"""A private PostgreSQL from the Debian package: `initdb` in a folder, `pg_ctl` on a free port.

For `motcua province-demo` and the tests (like appliance.broker.PrivateBroker for Mosquitto); a real
province runs PostgreSQL as a system service and gives the province service a DSN. PostgreSQL
refuses to run as root, so as root the cluster runs as the `postgres` account of the Debian package
(or a `motcua-pg` account made here), which owns the data folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from appliance.broker import data_folder, find_free_port
from appliance.errors import MotcuaError

START_TIMEOUT = 30.0
FALLBACK_ACCOUNT = "motcua-pg"


class PostgresError(MotcuaError, RuntimeError):
    """The private PostgreSQL could not be set up, started or stopped (with the end of its log)."""


def find_bin_dir() -> Path:
    """The folder of `initdb` and `pg_ctl`: Debian keeps them in /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]), reverse=True
    )
    if not versions:
        raise PostgresError("initdb not found: install the Debian package postgresql")
    return versions[0].parent


def _run_as_account() -> str | None:
    """The account to run PostgreSQL as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_ACCOUNT):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_ACCOUNT],
        check=True,
        capture_output=True,
    )
    return FALLBACK_ACCOUNT


class PrivatePostgres:
    """One PostgreSQL cluster in `data_dir` (made if missing, kept across restarts) on 127.0.0.1.

    The superuser `motcua` has a random password (kept in `data_dir/password`); `dsn` connects as it
    to the database `province`. Without `data_dir` a temporary folder is used and removed.
    """

    def __init__(self, data_dir: str | Path | None = None, *, port: int = 0) -> None:
        self.root = data_folder(self, data_dir, prefix="motcua-pg-")
        self.cluster = self.root / "cluster"
        self.log_path = self.root / "postgres.log"
        self.port = port or find_free_port(None)
        self.bin = find_bin_dir()
        self.account = _run_as_account()
        self.user = "motcua"
        self.database = "province"
        password_file = self.root / "password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(18), encoding="ascii")
            password_file.chmod(0o600)
        self.password = password_file.read_text(encoding="ascii").strip()

    @property
    def dsn(self) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} "
            f"dbname={self.database} connect_timeout=5"
        )

    def _as_account(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.account, "--", *argv] if self.account else argv

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(self._as_account(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresError(f"{what} failed: {(result.stderr or result.stdout).strip()}\n{self._tail()}")

    def _tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return ""

    def _own(self) -> None:
        if self.account:
            entry = pwd.getpwnam(self.account)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            # The account must reach the folder through its parents (a pytest tmp_path is 0700).
            for parent in self.root.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
            for path in self.root.iterdir():
                if path.name != "cluster":
                    os.chown(path, entry.pw_uid, entry.pw_gid)

    def _init(self) -> None:
        pwfile = self.root / "password"
        self._own()
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.cluster),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
        )

    def start(self) -> PrivatePostgres:
        if not (self.cluster / "PG_VERSION").exists():
            self._init()
        self._own()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c max_connections=100 -c fsync=on -c shared_buffers=64MB"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.cluster),
                "-l",
                str(self.log_path),
                "-o",
                options,
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "start",
            ],
            "pg_ctl start",
        )
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.dsn.replace(f"dbname={self.database}", "dbname=postgres")) as conn:
                    conn.autocommit = True
                    found = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
                    ).fetchone()
                    if not found:
                        conn.execute(f'CREATE DATABASE "{self.database}"')
                    return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise PostgresError(f"PostgreSQL does not answer: {error}\n{self._tail()}") from error
                time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT to the postmaster, as `pg_ctl -m fast stop` sends), waiting for it.

        Done by signal rather than by `pg_ctl` as the account: a folder above the data may have
        become unreachable for that account meanwhile (pytest makes its temporary root 0700 again
        at every session start)."""
        try:
            pid = int((self.cluster / "postmaster.pid").read_text(encoding="ascii").split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: PostgreSQL recovers from its WAL at start

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
