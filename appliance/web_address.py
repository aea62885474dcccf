"""Telling a web address from any other text (scanned codes, receipt QR codes): the scanner, the
kiosk and the hub all read text that may or may not be an http(s) URL."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def http_url(text: str) -> SplitResult | None:
    """The parts of `text` when it is an http(s) URL with a host, else None (text that does not
    even parse as a URL is simply not one)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return parts
