"""One exception root for the whole product; every message names the resource at fault."""

from __future__ import annotations


class MotcuaError(Exception):
    """Root of every error raised on purpose by motcua code."""


class ConfigError(MotcuaError, ValueError):
    """A configuration file is missing, unreadable or invalid. The message names the file and key."""


class DetailError(Exception):
    """An error whose one argument, `detail`, is the text its catcher shows (to a technician, in a
    bad_request message). Outside the MotcuaError tree, so no `except MotcuaError` catches it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
