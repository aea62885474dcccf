"""The device side of the fleet: commands from the hub and the live configuration it pushes.

Any daemon adds, next to its Link::

    runtime = DeviceRuntime(link, on_identify=board.blink, on_test_print=printer.test_page,
                            on_config=apply_config, on_restart=request_restart)

- `devices/{id}/commands` `{v, cmd: identify|test_print|reload|restart, id}`: the callback runs on
  a worker thread (never on the network thread); the outcome is published on
  `devices/{id}/command_results` `{v, id, cmd, ok, error?: {code, message}, ts}` for the fleet page.
  A command id seen before is not run again (QoS 1 may deliver twice).
- `devices/{id}/config` (retained) `{v, rev, config: {role sections}}`: `on_config(PushedConfig)`
  for every new revision. `merged(local)` lays the pushed sections over the local TOML data
  (identity and broker credentials always stay local).
- `restart` without `on_restart`: the result is sent, then the process exits with status 75, which
  systemd's Restart=on-failure turns into a restart (a clean exit would not be restarted).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ValidationError

from .config import DeviceConfig, describe_errors
from .errors import DetailError
from .i18n import message
from .mqtt import Link, Message, PayloadError
from .timeutil import iso, now

__all__ = ["COMMANDS", "RESTART_EXIT_CODE", "CommandError", "DeviceRuntime", "PushedConfig"]

log = logging.getLogger(__name__)

COMMANDS = ("identify", "test_print", "reload", "restart")
RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: "try again", i.e. restart me
RESULTS_LEAF = "command_results"
_REMEMBERED_IDS = 256
IDENTITY_KEYS = frozenset({"device_id", "site", "role", "mqtt"})


class CommandError(DetailError):
    """Raised by a command callback to report a failure the technician should read."""


@dataclass(frozen=True)
class PushedConfig:
    """A configuration revision the hub pushed: the role sections, without identity or secrets."""

    rev: int
    sections: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)

    def merged(self, local: Mapping[str, Any]) -> dict[str, Any]:
        """The local TOML data with the pushed sections laid over it (identity and mqtt stay local)."""
        result = dict(local)
        for key, value in self.sections.items():
            if key not in IDENTITY_KEYS:
                result[key] = value
        return result


Callback = Callable[[], object]


class DeviceRuntime:
    """Runs the hub's commands and follows the pushed configuration for one device's `link`."""

    def __init__(
        self,
        link: Link,
        *,
        on_identify: Callback | None = None,
        on_test_print: Callback | None = None,
        on_reload: Callback | None = None,
        on_restart: Callback | None = None,
        on_config: Callable[[PushedConfig], object] | None = None,
        exit_process: Callable[[int], object] = os._exit,
        language: str = "vi",
    ) -> None:
        self.link = link
        self.language = "en" if language == "en" else "vi"
        self.on_config = on_config
        self._callbacks: dict[str, Callback | None] = {
            "identify": on_identify,
            "test_print": on_test_print,
            "reload": on_reload,
            "restart": on_restart,
        }
        self._exit_process = exit_process
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._config: PushedConfig | None = None
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="device-commands", daemon=True)
        self._worker.start()
        self._closed = False
        topics = link.topics
        self.commands_topic = topics.device_commands(link.device_id)
        self.config_topic = topics.device_config(link.device_id)
        self.results_topic = f"{topics.root}/devices/{link.device_id}/{RESULTS_LEAF}"
        link.subscribe(self.commands_topic, self._on_command, qos=1)
        link.subscribe(self.config_topic, self._on_config, qos=1)

    @property
    def config(self) -> PushedConfig | None:
        """The latest configuration the hub pushed, if any."""
        with self._lock:
            return self._config

    def close(self) -> None:
        """Stop listening and let the command in progress finish. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.link.unsubscribe(self.commands_topic, self._on_command)
        self.link.unsubscribe(self.config_topic, self._on_config)
        self._queue.put(None)
        if self._worker is not threading.current_thread():
            self._worker.join(timeout=10)

    def __enter__(self) -> DeviceRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ network thread

    def _on_command(self, msg: Message) -> None:
        try:
            body = msg.json()
        except PayloadError as error:
            log.warning("command on %s refused: %s", msg.topic, error)
            return
        ident, command = body.get("id"), body.get("cmd")
        if not isinstance(ident, str) or not ident or len(ident) > 128:
            log.warning("command without a usable id dropped: %r", body)
            return
        with self._lock:
            if ident in self._seen:
                log.info("command %s seen before: not run again", ident)
                return
            self._seen[ident] = None
            while len(self._seen) > _REMEMBERED_IDS:
                self._seen.popitem(last=False)
        self._queue.put((ident, str(command)))

    def _on_config(self, msg: Message) -> None:
        if not msg.payload:
            return  # cleared (device revoked): nothing to apply
        try:
            body = msg.json()
            rev, sections = body.get("rev"), body.get("config")
            if type(rev) is not int or not isinstance(sections, dict):
                raise PayloadError("bad_request", "config needs an integer rev and a config object")
        except PayloadError as error:
            log.warning("configuration on %s refused: %s", msg.topic, error)
            return
        with self._lock:
            if self._config is not None and rev <= self._config.rev:
                return  # the retained copy again after a reconnect
            self._config = PushedConfig(rev, sections, body)
            pushed = self._config
        log.info("configuration revision %d received", rev)
        if self.on_config is not None:
            self._queue.put(("", "__config__"))
        else:
            log.info("no live reload here: configuration revision %d applies at the next start", pushed.rev)

    # ------------------------------------------------------------------ worker thread

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ident, command = item
            if command == "__config__":
                self._apply_config()
            else:
                self._run(ident, command)

    def _apply_config(self) -> None:
        config = self.config
        if config is None or self.on_config is None:
            return
        try:
            self.on_config(config)
        except Exception as error:
            log.error("configuration revision %d not applied: %r", config.rev, error)

    def _run(self, ident: str, command: str) -> None:
        if command not in COMMANDS:
            self._report(ident, command, "fleet_unknown_command")
            return
        callback = self._callbacks.get(command)
        if (
            command == "reload"
            and callback is None
            and self.on_config is not None
            and self.config is not None
        ):
            callback = self._apply_config
        if command == "restart" and callback is None:
            log.warning(
                "restart asked by the hub: exiting with status %d for systemd to restart us",
                RESTART_EXIT_CODE,
            )
            self._report(ident, command, None, wait=True)
            self._exit_process(RESTART_EXIT_CODE)
            return
        if callback is None:
            self._report(ident, command, "fleet_command_unsupported")
            return
        log.info("command %s (%s) from the hub", command, ident)
        try:
            callback()
        except CommandError as error:
            self._report(ident, command, "fleet_command_failed", detail=error.detail)
            return
        except Exception as error:
            log.exception("command %s failed", command)
            self._report(ident, command, "fleet_command_failed", detail=type(error).__name__)
            return
        self._report(ident, command, None)

    def _report(
        self, ident: str, command: str, error_key: str | None, *, wait: bool = False, **values: object
    ) -> None:
        body: dict[str, Any] = {
            "v": 1,
            "id": ident,
            "cmd": command,
            "ok": error_key is None,
            "ts": iso(now()),
        }
        if error_key is not None:
            body["error"] = {
                "code": error_key,
                "message": message(error_key, self.language, command=command, **values),
            }  # type: ignore[arg-type]
            log.warning("command %s (%s): %s", command, ident, body["error"]["message"])
        try:
            info = self.link.publish_json(self.results_topic, body, qos=1)
            if wait:
                info.wait_for_publish(2.0)
        except (RuntimeError, ValueError) as error:
            log.warning("result of command %s not sent: %s", ident, error)


M = TypeVar("M", bound=BaseModel)


def fresh_config(
    model: type[M], local: dict[str, Any], path: Path | None, pushed: PushedConfig | None, language: str
) -> tuple[M, dict[str, Any]]:
    """(validated configuration, the local data it was built on): the TOML file read again (or `local`
    without a file), the hub's pushed sections over it. CommandError saying why otherwise, so a bad
    push is refused whole and never half applied."""
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
        return model.model_validate(merged), data
    except ValidationError as error:
        detail = describe_errors(source, error)
        raise CommandError(message("device_config_refused", language, detail=detail)) from None


def keep_until_restart(current: M, fresh: M, keys: Iterable[str]) -> M:
    """`fresh`, but with the running values of `keys`: what only a new process can take (its
    identity, its link, its files). The rest applies now; the log says which keys wait."""
    kept = {key: getattr(current, key) for key in keys if getattr(fresh, key) != getattr(current, key)}
    if not kept:
        return fresh
    log.warning("configuration keys %s apply at the next restart", ", ".join(sorted(kept)))
    return fresh.model_copy(update=kept)


D = TypeVar("D", bound=DeviceConfig)


class ReloadsConfig(Generic[D]):
    """The hub's side of a device daemon, done one way everywhere: its state, its commands
    (identify, reload, restart), `reload` and the pushed configuration, and the daemon as a context
    manager.

    The daemon sets `config_model`, calls `_set_up_config(config, config_path)` first in its
    `__init__`, implements `start`, `stop`, `identify`, `_apply(fresh)` (take a validated
    configuration) and `_config_refused(detail)` (say so in its health), and calls
    `listen_to_the_hub(link)` when it starts. A push that does not validate is refused whole;
    `reload` raises CommandError so the command result carries the reason.
    """

    config_model: type[D]
    config: D
    config_path: Path | None
    _local: dict[str, Any]  # the TOML data last found valid
    config_error: str | None  # why the last push was refused, for the health
    runtime: DeviceRuntime | None
    restart_requested: threading.Event
    on_restart: Callable[[], object] | None = None  # e.g. close the window

    def _set_up_config(
        self, config: D, config_path: Path | None, *, on_restart: Callable[[], object] | None = None
    ) -> None:
        self.config = config
        # What `reload` reads again; without a file (tests, one-off commands), `config` itself.
        self.config_path = config_path
        self._local = config.model_dump(mode="json")
        self.config_error = None
        self.restart_requested = threading.Event()
        self.runtime = None
        if on_restart is not None:
            self.on_restart = on_restart

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def identify(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def listen_to_the_hub(self, link: Link, *, on_test_print: Callback | None = None) -> DeviceRuntime:
        """Answer the hub's commands and take its pushed configuration, on `link` (a printer also
        answers "test print")."""
        self.runtime = DeviceRuntime(
            link,
            on_identify=self.identify,
            on_test_print=on_test_print,
            on_reload=self.reload,
            on_restart=self.request_restart,
            on_config=self._on_pushed_config,
            language=self.config_language,
        )
        return self.runtime

    def request_restart(self) -> None:
        """The hub's "restart": stop cleanly, for the command line to exit with RESTART_EXIT_CODE."""
        log.warning("restart asked by the hub: stopping cleanly for systemd to start the device again")
        self.restart_requested.set()
        if self.on_restart is not None:
            self.on_restart()

    @property
    def config_language(self) -> str:
        """The language command results and refusals are written in."""
        return self.config.language

    def _apply(self, fresh: D) -> None:
        raise NotImplementedError

    def _config_refused(self, detail: str) -> None:
        raise NotImplementedError

    def reload(self) -> None:
        pushed = self.runtime.config if self.runtime is not None else None
        config, local = fresh_config(
            self.config_model, self._local, self.config_path, pushed, self.config_language
        )
        self._apply(config)
        self._local = local

    def _on_pushed_config(self, pushed: PushedConfig) -> None:
        try:
            config, _ = fresh_config(self.config_model, self._local, None, pushed, self.config_language)
            self._apply(config)
        except CommandError as error:
            log.error("configuration revision %d refused: %s", pushed.rev, error.detail)
            self._config_refused(error.detail)
