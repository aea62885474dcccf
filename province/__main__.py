"""`motcua province -c province.toml` (= `python -m province -c …`): the province service."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .config import ConfigError, ProvinceConfig, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua province", description=__doc__)
    parser.add_argument("-c", "--config", required=True, help="province.toml")
    parser.add_argument(
        "--no-web", action="store_true", help="ingest only (another instance serves the pages)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load(args.config)
    except ConfigError as error:
        print(f"motcua province: {error}", file=sys.stderr)
        return 2

    import psycopg

    from .ingest import Ingestor
    from .store import ProvinceStore

    try:
        ProvinceStore(config.dsn).close()  # the schema is up to date before anything is received
    except psycopg.Error as error:
        print(f"motcua province: PostgreSQL: {error}", file=sys.stderr)
        return 1
    server = None
    if config.web and not args.no_web:
        from .web import serve

        server = serve(config)
        print(f"Province web: {server.url}", flush=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    print(f"Province ready ({config.mqtt.client_id})", flush=True)
    if config.mqtt.active_mode == "shared":
        ingestor = Ingestor(config).start()
        print(f"Province active ({config.mqtt.client_id}, shared)", flush=True)
        stopping.wait()
        ingestor.stop()
    else:
        _lead(config, stopping)
    if server is not None:
        server.shutdown()
    return 0


def _lead(config: ProvinceConfig, stopping: threading.Event) -> None:
    """Stand by until elected, ingest while the lock holds, stand by again if it is lost."""
    from .ingest import Ingestor
    from .leader import Leadership

    leadership = Leadership(config.dsn, config.mqtt.group, poll_s=config.mqtt.leader_poll_s, stop=stopping)
    name = config.mqtt.client_id
    while leadership.acquire(lambda: print(f"Province standby ({name})", flush=True)):
        ingestor = Ingestor(config).start()
        print(f"Province active ({name}, leader)", flush=True)
        while not stopping.wait(config.mqtt.leader_poll_s):
            if not leadership.held():
                break
        ingestor.stop()
        if not stopping.is_set():
            print(f"Province standby ({name}): leader lock lost", flush=True)
    leadership.release()


if __name__ == "__main__":
    sys.exit(main())
