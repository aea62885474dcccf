"""`python -m hub.fleet …`: set up the site broker's security and its bridge to a central broker.

init-broker  create the dynamic-security file with the hub's account (once, at installation)
bridge       print the bridge section for /etc/mosquitto/conf.d/motcua-bridge.conf
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import secrets
import sys
from pathlib import Path

from .broker_setup import init_dynsec, render_bridge
from .errors import FleetError

DEFAULT_DYNSEC = "/var/lib/mosquitto/dynamic-security.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hub.fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-broker", help="create the broker's accounts file with the hub's account")
    init.add_argument("--site", required=True, help="the site id (hub.toml `site`)")
    init.add_argument("--hub-user", default="hub", help="the hub's device id (hub.toml `device_id`)")
    init.add_argument(
        "--file", default=DEFAULT_DYNSEC, help=f"dynamic-security file (default {DEFAULT_DYNSEC})"
    )
    bridge = commands.add_parser("bridge", help="print the bridge configuration to a central broker")
    bridge.add_argument("--site", required=True)
    bridge.add_argument("--central", required=True, help="HOST:PORT of the central broker")
    bridge.add_argument("--prefix", default="", help='topic prefix on the central broker, e.g. "dongnai/"')
    bridge.add_argument("--username", help="this site's account on the central broker")
    bridge.add_argument("--password-file", type=Path, help="file holding that account's password")
    bridge.add_argument("--cafile", help="CA certificate of the central broker (enables TLS)")
    args = parser.parse_args(argv)
    try:
        if args.command == "init-broker":
            return _init(args)
        password = args.password_file.read_text(encoding="utf-8").strip() if args.password_file else None
        print(
            render_bridge(
                site=args.site,
                central_address=args.central,
                remote_prefix=args.prefix,
                username=args.username,
                password=password,
                ca_file=args.cafile,
            ),
            end="",
        )
        return 0
    except (FleetError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _init(args: argparse.Namespace) -> int:
    password = secrets.token_urlsafe(24)
    path = init_dynsec(args.file, site=args.site, hub_user=args.hub_user, password=password)
    with contextlib.suppress(KeyError, PermissionError):
        owner = pwd.getpwnam("mosquitto")  # the broker runs as mosquitto and rewrites the file
        os.chown(path, owner.pw_uid, owner.pw_gid)
    print(f"Created {path}. Restart Mosquitto, then put the hub's broker login in /etc/motcua/hub.toml:")
    print("[mqtt]")
    print(f'username = "{args.hub_user}"')
    print(f'password = "{password}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
