"""The state every device daemon keeps to follow the hub, set up in one place.

appliance.device.ReloadsConfig says what a daemon must hold (`config_path`, `_local`,
`restart_requested`, `runtime`) and every daemon also keeps its configuration and the reason the
last push was refused (`config_error`, for its health). `DeviceDaemon` sets all of them from the
configuration the process started with, and answers in that configuration's language.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

from .config import DeviceConfig
from .device import ReloadsConfig

C = TypeVar("C", bound=DeviceConfig)


class DeviceDaemon(ReloadsConfig[C]):
    """ReloadsConfig with its state set up by `_set_up_config(config, config_path)` (call it first
    in `__init__`)."""

    config: C
    config_error: str | None

    def _set_up_config(self, config: C, config_path: Path | None) -> None:
        self.config = config
        # What `reload` reads again; without a file (tests, one-off commands), `config` itself.
        self.config_path = config_path
        self._local = config.model_dump(mode="json")
        self.config_error = None
        self.restart_requested = threading.Event()
        self.runtime = None

    @property
    def config_language(self) -> str:
        return self.config.language
