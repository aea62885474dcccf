"""`python -m hub` / `motcua hub`: run the site hub."""

from __future__ import annotations

import getpass
import logging
import os
import sys

from appliance.errors import ConfigError, MotcuaError
from appliance.logs import setup_logging
from appliance.startup import CONFIG_ERROR_EXIT_CODE, load_config, process_parser

from .site import HubConfig, load_hub_config


def live_site(config: HubConfig) -> HubConfig:
    """`config` with the live configuration kept in its database laid over it (if any)."""
    from pydantic import ValidationError

    from .admin import edits, store

    parts = store.read_live_file(config.hub.db)
    if parts is None:
        return config
    try:
        return edits.overlay(config, parts)
    except ValidationError as error:
        raise ConfigError(f"{config.hub.db}: the live site configuration is invalid: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = process_parser("motcua hub", "Run the site hub.", "/etc/motcua/hub.toml")
    parser.add_argument("--no-web", action="store_true", help="serve MQTT only")
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password and print the hash to put in [[officers]] password_hash",
    )
    parser.add_argument(
        "--export-site",
        metavar="FILE",
        help="write the live site (the TOML with the changes made on the admin pages) as TOML ('-': stdout)",
    )
    args = parser.parse_args(argv)
    setup_logging(args.verbose)

    if args.hash_password:
        from .web.auth import hash_password

        password = getpass.getpass("Mật khẩu / password: ") if sys.stdin.isatty() else sys.stdin.readline()
        print(hash_password(password.rstrip("\n")))
        return 0
    # The site as the admin pages left it: the TOML only seeds it.
    config = load_config(args.config, lambda path: live_site(load_hub_config(path)))
    if config is None:
        return CONFIG_ERROR_EXIT_CODE
    if args.export_site:
        from .admin.edits import export_toml

        body = export_toml(config)
        if args.export_site == "-":
            sys.stdout.write(body)
        else:
            with open(args.export_site, "w", encoding="utf-8") as out:
                out.write(body)
        return 0
    if args.check:
        print(
            f"{args.config}: OK — {config.name}: {len(config.services)} services, "
            f"{len(config.counters)} counters"
        )
        return 0

    from .daemon import Hub

    # A request crosses three threads (MQTT network, RPC worker, queue writer); with CPython's
    # default 5 ms GIL switch interval each hand-off can wait that long behind another thread.
    sys.setswitchinterval(float(os.environ.get("MOTCUA_SWITCH_INTERVAL", "0.0005")))

    try:
        hub = Hub(config)
        if not args.no_web:
            from .web.auth import UserStore

            users = UserStore(hub.service.db_path)
            for username, password in users.bootstrap(config.officers).items():
                # Printed once, never stored in clear: the officer changes it at first login.
                print(f"Officer login created: {username} / {password}", flush=True)
            users.close()
        hub.start(web=not args.no_web)
    except MotcuaError as error:
        logging.getLogger("motcua.hub").error("%s", error)
        return 1
    print(
        f"Hub ready: site {config.site}, MQTT {config.mqtt.host}:{config.mqtt.port}, "
        f"web {hub.web.url if hub.web is not None else 'off'}",
        flush=True,
    )
    hub.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
