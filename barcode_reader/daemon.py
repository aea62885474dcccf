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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.device import CommandError, ReloadsConfig, keep_until_restart
from appliance.errors import MotcuaError
from appliance.mqtt import Link

from .config import ScannerConfig
from .service import MqttSink, ScannerService, ScanPipeline, build_service
from .source import ScanSource

log = logging.getLogger("barcode_reader")

# Only a new process takes these (the link is built on them).
RESTART_KEYS = ("device_id", "site", "role", "mqtt")


class _DeviceSink(MqttSink):
    """Scans and health to the broker; health also says whether a pushed configuration was refused."""

    def __init__(self, link: Link, daemon: ScannerDaemon) -> None:
        super().__init__(link, lambda: daemon.config.scan)
        self.daemon = daemon

    def publish_health(self, health: Mapping[str, Any]) -> None:
        super().publish_health({**health, "config_error": self.daemon.config_error})


class ScannerDaemon(ReloadsConfig[ScannerConfig]):
    """One scanner on the site broker: scans out, commands and configuration in."""

    config_model = ScannerConfig

    def __init__(
        self,
        config: ScannerConfig,
        link: Link,
        *,
        config_path: Path | None = None,
        source: ScanSource | None = None,
    ) -> None:
        self._set_up_config(config, config_path)
        self.link = link
        self.sink = _DeviceSink(link, self)
        self.service: ScannerService = build_service(config, self.sink, source)
        self._lock = threading.Lock()  # one configuration change at a time, never half applied

    def start(self) -> None:
        self.listen_to_the_hub(self.link)
        self.link.start()
        self.service.start()

    def stop(self) -> None:
        """Results of a command in progress go out before the link closes. Idempotent."""
        if self.runtime is not None:
            self.runtime.close()
        self.service.stop()
        self.link.stop()

    # ------------------------------------------------------------------ commands (command worker)

    def identify(self) -> None:
        self.service.identify()

    def _config_refused(self, detail: str) -> None:
        self.config_error = detail
        self.service.publish_health()

    def _apply(self, fresh: ScannerConfig) -> None:
        with self._lock:
            current = self.config
            fresh = keep_until_restart(current, fresh, RESTART_KEYS)
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
