"""MQTT topic names of the contract (docs/contract.md). Root: motcua/v1/{site}/."""

from __future__ import annotations

from collections.abc import Callable

ROOT = "motcua/v1"


def _per_device(pattern: str) -> Callable[[Topics, str], str]:
    """A topic of one device: `pattern` under the site's root, with {id} its device id."""

    def topic(self: Topics, device_id: str) -> str:
        return f"{self.root}/{pattern.format(id=device_id)}"

    return topic


class _site_wide:  # lower case: used like `property`
    """A topic of the whole site: `path` under the site's root (read as an attribute)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __get__(self, topics: Topics, owner: type[Topics] | None = None) -> str:
        return f"{topics.root}/{self.path}"


class Topics:
    """Builds the contract's topics for one site."""

    def __init__(self, site: str) -> None:
        if not site or any(ch in site for ch in "/+#"):
            raise ValueError(f"site id {site!r} must be non-empty and contain no '/', '+' or '#'")
        self.site = site
        self.root = f"{ROOT}/{site}"

    # Each device's own topics: devices/{device_id}/<leaf>.
    device_state = _per_device("devices/{id}/state")
    device_health = _per_device("devices/{id}/health")
    device_config = _per_device("devices/{id}/config")
    device_commands = _per_device("devices/{id}/commands")
    # Retained, hub → kiosk: whether the kiosk's ticket printer is ready (hub/printing.py).
    device_printer = _per_device("devices/{id}/printer")
    device_replies = _per_device("devices/{id}/replies")
    print_jobs = _per_device("print/{id}/jobs")
    print_results = _per_device("print/{id}/results")
    scans = _per_device("scans/{id}")

    def rpc(self, caller_id: str, method: str) -> str:
        return f"{self.root}/rpc/{caller_id}/{method}"

    rpc_filter = _site_wide("rpc/+/+")
    queue_state = _site_wide("queue/state")
    queue_events = _site_wide("queue/events")
    # Retained list of dossiers whose results wait for collection.
    results_ready = _site_wide("results/ready")
    # Device commands asked by the province (the only topic its bridge brings in); the hub checks
    # each and sends it itself on `devices/{id}/commands`.
    province_commands = _site_wide("province/commands")
    # Configuration templates from the province (over the bridge); the hub validates each.
    province_templates = _site_wide("province/templates")
    # The hub's answer to each template (applied or refused, with the reason), to the province.
    province_results = _site_wide("province/results")

    def private_scans(self, device_id: str, kiosk_id: str) -> str:
        """Scans only one kiosk may read (ID cards, receipt proofs): the broker ACL of every other
        device excludes this topic."""
        return f"{self.root}/scans/{device_id}/{kiosk_id}"

    def all_devices(self, leaf: str) -> str:
        """Filter for one leaf (state, health, …) of every device."""
        return f"{self.root}/devices/+/{leaf}"

    def split_rpc(self, topic: str) -> tuple[str, str] | None:
        """(caller_id, method) of an RPC request topic, or None if it is not one."""
        prefix = f"{self.root}/rpc/"
        if not topic.startswith(prefix):
            return None
        rest = topic[len(prefix) :].split("/")
        if len(rest) != 2 or not all(rest):
            return None
        return rest[0], rest[1]
