"""The hub's device commands on the hall display (appliance.device.DeviceRuntime's worker thread).

- `identify`: "Thiết bị {id}" over the whole screen for a few seconds (BoardModel's banner) and the
  chime through the playback queue, so it never talks over an announcement;
- `reload`: the TOML read again with the hub's pushed sections over it; if it validates, what can
  change live is applied (the scrolling message, highlight and page times, announcement wording,
  voice pack and audio output); the window's own settings (orientation, fonts, results page…) wait
  for the next start;
- `restart`: `restart_requested` is set and `on_restart` is called, for the command line to close
  the window, stop cleanly and exit with status 75 for systemd;
- a pushed configuration that does not validate is refused whole: a log line, `config_error` in
  the health, and the reason in the result of the next `reload`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from appliance.device import ReloadsConfig, keep_until_restart
from appliance.i18n import message

from .config import DisplayConfig, ScreenSection
from .playback import PlayRequest
from .service import IDENTIFY_KIND, DisplayService, load_pack, make_sink

log = logging.getLogger(__name__)

IDENTIFY_S = 6.0
RESTART_KEYS = ("device_id", "site", "role", "mqtt", "language")
# The screen settings the board model reads at every snapshot; the others shaped the window.
LIVE_SCREEN_KEYS = ("message", "highlight_s", "page_s", "recent_calls")
WINDOW_KEYS = tuple(key for key in ScreenSection.model_fields if key not in LIVE_SCREEN_KEYS)


class DisplayCommands(ReloadsConfig[DisplayConfig]):
    """Wires a DisplayService to the hub's commands and pushed configuration. `close()` is idempotent."""

    config_model = DisplayConfig

    def __init__(
        self,
        service: DisplayService,
        *,
        config_path: Path | None = None,
        on_restart: Callable[[], object] | None = None,
        identify_s: float = IDENTIFY_S,
    ) -> None:
        self._set_up_config(service.config, config_path, on_restart=on_restart)
        self.service = service
        self.identify_s = identify_s
        self._lock = threading.Lock()
        self.listen_to_the_hub(service.link)

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()

    def identify(self) -> None:
        config = self.service.config
        text = message("device_identify_title", config.language, device=config.device_id)
        log.warning("identify asked by the hub: showing %r for %g s with the chime", text, self.identify_s)
        self.service.store.show_banner(text, self.service.clock() + self.identify_s)
        self.service.playback.submit(
            PlayRequest(key=f"identify-{uuid.uuid4().hex[:8]}", number="", counter="", kind=IDENTIFY_KIND)
        )

    def _config_refused(self, detail: str) -> None:
        self.config_error = self.service.config_error = detail
        self.service.publish_health()

    def _apply(self, fresh: DisplayConfig) -> None:
        service = self.service
        with self._lock:
            current = service.config
            fresh = keep_until_restart(current, fresh, RESTART_KEYS)
            screen = keep_until_restart(current.screen, fresh.screen, WINDOW_KEYS)
            if screen is not fresh.screen:
                fresh = fresh.model_copy(update={"screen": screen})
            pack = service.pack
            if fresh.announce.enabled and (pack is None or fresh.announce != current.announce):
                pack = load_pack(fresh)  # builds missing clips with espeak-ng: a few seconds at most
            sink = make_sink(fresh) if fresh.audio != current.audio else service.sink
            service.store.configure(
                message=fresh.screen.message,
                highlight_s=fresh.screen.highlight_s,
                page_s=fresh.screen.page_s,
                recent_limit=fresh.screen.recent_calls,
            )
            old_sink = service.sink
            service.config = self.config = fresh
            service.settings, service.pack = fresh.announce.settings(), pack
            service.sink = service.playback.sink = sink
            if old_sink is not sink:
                old_sink.close()
            self.config_error = service.config_error = None
        service.publish_health()
