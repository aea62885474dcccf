"""Mosquitto for a province and its sites, as `motcua province-demo`, the tests and the benchmark run
them: the province broker (deep queues for the province services' persistent sessions), and site
brokers with the shipped bridge (systemd/mosquitto/motcua-bridge.conf.template) to it."""

from __future__ import annotations

from pathlib import Path

from appliance.broker import PrivateBroker
from hub.fleet.broker_setup import render_bridge

# A province service down for a while must find every event waiting in its session.
PROVINCE_QUEUE = 1_000_000
# Unacknowledged messages the broker sends a province service ahead: room for a site's whole backlog
# (an hour at ten times a busy peak is 4,320 events) plus everyone's live events, so the service's
# per-site lanes (province.inbox) put the live ones first instead of the broker's one queue making them
# wait behind the backlog. ~1.5 KB of the service's memory each.
PROVINCE_INFLIGHT = 20_000
# A site's link down for hours: its own broker holds the events for the bridge (a busy day is a few
# thousand events; the shipped site configuration says 5000 per client, raise it there too).
SITE_QUEUE = 200_000


class ProvinceBroker(PrivateBroker):
    """The province broker: anonymous on 127.0.0.1 here (a real one admits sites by account/TLS)."""

    def config_text(self) -> str:
        return super().config_text() + (
            f"max_queued_messages {PROVINCE_QUEUE}\nmax_inflight_messages {PROVINCE_INFLIGHT}\n"
        )


class BridgedSiteBroker(PrivateBroker):
    """A site's broker (anonymous, as `motcua demo` runs it) bridged to the province broker."""

    def __init__(
        self,
        site: str,
        province_port: int,
        *,
        data_dir: str | Path | None = None,
        port: int = 0,
        remote_prefix: str = "",
        fast_restart: bool = True,
        keepalive_s: int | None = None,
    ) -> None:
        super().__init__(port=port, data_dir=data_dir, persistence=True)
        self.site = site
        bridge = render_bridge(
            site=site, central_address=f"127.0.0.1:{province_port}", remote_prefix=remote_prefix
        )
        if fast_restart:  # a test or a demo should not wait a minute for the link to come back
            bridge = bridge.replace("restart_timeout 2 60", "restart_timeout 1 2")
        if keepalive_s is not None:  # a shortened clock for tests: a dead link is noticed in 1.5 × this
            bridge = bridge.replace("keepalive_interval 30", f"keepalive_interval {keepalive_s}")
        self.bridge = bridge

    def config_text(self) -> str:
        return super().config_text() + f"max_queued_messages {SITE_QUEUE}\n" + self.bridge
