"""The scanner daemon with its MQTT link: the ScannerService plus the hub's device commands.

Commands come through appliance.device.DeviceRuntime (its worker thread): `identify` flags the scanner
in its health for a few seconds and logs it (a scanner has no beeper we may drive); `reload` reads the
TOML again with the hub's pushed sections over it and, if it validates, applies it (a changed
`[source]` opens the new source, a changed `[scan]` takes effect for the next scan); `restart` sets
`restart_requested` for the command line to stop cleanly and exit with status 75 for systemd.
A pushed configuration that does not validate is refused whole, with the reason in the log, in the
health (`config_error`) and in the result of the next `reload`.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from appliance.config import describe_errors
from appliance.device import CommandError, DeviceRuntime, PushedConfig
from appliance.errors import MotcuaError
from appliance.i18n import message
from appliance.mqtt import Link

from .config import ScannerConfig
from .service import MqttSink, ScannerService, ScanPipeline, build_service
from .source import ScanSource

log = logging.getLogger("barcode_reader")

# Only a new process takes these (the link is built on them).
RESTART_KEYS = ("device_id", "site", "role", "mqtt")


def fresh_config(
    local: dict[str, Any], path: Path | None, pushed: PushedConfig | None, language: str
) -> tuple[ScannerConfig, dict[str, Any]]:
    """(validated configuration, the local data it was built on): the TOML file read again (or `local`
    without a file), the hub's pushed sections over it. CommandError saying why otherwise."""
    data = local
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            detail = message("device_config_unreadable", language, path=path, detail=error)
            raise CommandError(detail) from None
    source = str(path or "configuration")
    merged = data
    if pushed is not None:
        merged = pushed.merged(data)
        source = f"{source} + hub revision {pushed.rev}"
    try:
        return ScannerConfig.model_validate(merged), data
    except ValidationError as error:
        detail = describe_errors(source, error)
        raise CommandError(message("device_config_refused", language, detail=detail)) from None


class _DeviceSink(MqttSink):
    """Scans and health to the broker; health also says whether a pushed configuration was refused."""

    def __init__(self, link: Link, daemon: ScannerDaemon) -> None:
        super().__init__(link)
        self.daemon = daemon

    def publish_health(self, health: Mapping[str, Any]) -> None:
        super().publish_health({**health, "config_error": self.daemon.config_error})


class ScannerDaemon:
    """One scanner on the site broker: scans out, commands and configuration in."""

    def __init__(
        self,
        config: ScannerConfig,
        link: Link,
        *,
        config_path: Path | None = None,
        source: ScanSource | None = None,
    ) -> None:
        self.config = config
        self.link = link
        self.config_path = config_path
        self.sink = _DeviceSink(link, self)
        self.config_error: str | None = None
        self.service: ScannerService = build_service(config, self.sink, source)
        self.restart_requested = threading.Event()
        self.runtime: DeviceRuntime | None = None
        self._local = config.model_dump(mode="json")
        self._lock = threading.Lock()  # one configuration change at a time, never half applied

    def start(self) -> None:
        self.runtime = DeviceRuntime(
            self.link,
            on_identify=self.identify,
            on_reload=self.reload,
            on_restart=self.request_restart,
            on_config=self._on_pushed_config,
            language=self.config.language,
        )
        self.link.start()
        self.service.start()

    def stop(self) -> None:
        """Results of a command in progress go out before the link closes. Idempotent."""
        if self.runtime is not None:
            self.runtime.close()
        self.service.stop()
        self.link.stop()

    def __enter__(self) -> ScannerDaemon:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ commands (command worker)

    def identify(self) -> None:
        self.service.identify()

    def request_restart(self) -> None:
        log.warning("restart asked by the hub: stopping cleanly for systemd to start the daemon again")
        self.restart_requested.set()

    def reload(self) -> None:
        pushed = self.runtime.config if self.runtime is not None else None
        config, local = fresh_config(self._local, self.config_path, pushed, self.config.language)
        self._apply(config)
        self._local = local

    def _on_pushed_config(self, pushed: PushedConfig) -> None:
        try:
            config, _ = fresh_config(self._local, None, pushed, self.config.language)
            self._apply(config)
        except CommandError as error:
            self.config_error = error.detail
            log.error("configuration revision %d refused: %s", pushed.rev, error.detail)
            self.service.publish_health()

    def _apply(self, fresh: ScannerConfig) -> None:
        with self._lock:
            current = self.config
            kept = {k: getattr(current, k) for k in RESTART_KEYS if getattr(fresh, k) != getattr(current, k)}
            if kept:
                log.warning("configuration keys %s apply at the next restart", ", ".join(sorted(kept)))
                fresh = fresh.model_copy(update=kept)
            if fresh.source != current.source:
                try:
                    replacement = build_service(fresh, self.sink)
                except (MotcuaError, ValueError) as error:
                    raise CommandError(str(error)) from None
                self.service.stop()
                self.service = replacement
                self.service.start()
                log.info("scanner source now %s %s", fresh.source.type, self.service.source.device)
            elif fresh.scan != current.scan:
                self.service.pipeline = ScanPipeline(fresh.scan, clock=self.service.clock)
            self.config = fresh
            self.config_error = None
        self.service.publish_health()
