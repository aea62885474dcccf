"""The hub's web application: HTTP API, officer console, public ticket page, admin and stats."""

from .app import WebServer, create_app, one_time_passwords, serve

__all__ = ["WebServer", "create_app", "one_time_passwords", "serve"]
