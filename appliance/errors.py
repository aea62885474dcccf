"""One exception root for the whole product; every message names the resource at fault."""

from __future__ import annotations


class MotcuaError(Exception):
    """Root of every error raised on purpose by motcua code."""


class ConfigError(MotcuaError, ValueError):
    """A configuration file is missing, unreadable or invalid. The message names the file and key."""
