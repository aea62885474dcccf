"""`{Web}/demo`: every screen of `motcua demo` in one browser page — the kiosk (tap it to use it), the
hall display, the LED boards and the printed tickets, newest first.

Registered only when the hub's TOML names the demo's data folder (`[hub] demo_dir`, written by
motcua/demo.py). The devices keep their pictures there (appliance.screen_mirror, the simulated LED
boards and printers); a tap is forwarded to the kiosk through its touch FIFO.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request, send_file

from appliance.i18n import message
from appliance.screen_mirror import send_touch

from .app import error_response, language
from .errors import json_error, status_for
from .texts import load_words, words

demo = Blueprint("demo", __name__)

# Only these files of the data folder are served: screen pictures and printed pages.
SERVED = re.compile(r"(?:printed[\w-]*/)?[\w][\w.-]*\.(?:png|txt)")
DEVICE = re.compile(r"[\w][\w-]{0,63}")
TICKETS_SHOWN = 12

# The page's own words: a demo page, not part of the product's pages.
WORDS = load_words("demo")


def install_demo(app: Flask, data_dir: Path) -> None:
    app.config["MOTCUA_DEMO_DIR"] = data_dir
    app.register_blueprint(demo)


def _data_dir() -> Path:
    return Path(current_app.config["MOTCUA_DEMO_DIR"])


def _version(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def screens(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The pictures of the screens and boards, each with a version that changes when it is redrawn."""

    def listed(pattern: str) -> list[dict[str, Any]]:
        return [
            {"name": path.stem, "file": path.name, "version": _version(path)}
            for path in sorted(data_dir.glob(pattern))
        ]

    return {"kiosks": listed("kiosk-*.png"), "displays": listed("display-*.png"), "leds": listed("led-*.png")}


def tickets(data_dir: Path, limit: int = TICKETS_SHOWN) -> list[dict[str, Any]]:
    """The pages the simulated printers printed, newest first."""
    pages = [
        path
        for folder in data_dir.glob("printed*")
        if folder.is_dir()
        for path in folder.iterdir()
        if path.suffix in (".png", ".txt") and not path.name.startswith(".")
    ]
    pages.sort(key=_version, reverse=True)
    shown = []
    for path in pages[:limit]:
        page: dict[str, Any] = {
            "file": f"{path.parent.name}/{path.name}",
            "printer": path.parent.name.removeprefix("printed").strip("-") or "1",
            "version": _version(path),
        }
        if path.suffix == ".txt":
            page["text"] = path.read_text(encoding="utf-8", errors="replace")
        shown.append(page)
    return shown


@demo.get("/demo")
def page() -> str:
    lang = language()
    data_dir = _data_dir()
    return render_template(
        "demo.html",
        public=True,
        screens=screens(data_dir),
        tickets=tickets(data_dir),
        w=lambda key: words(WORDS, key, lang),
    )


@demo.get("/demo/state")
def state() -> Response:
    data_dir = _data_dir()
    return jsonify({**screens(data_dir), "tickets": tickets(data_dir)})


@demo.get("/demo/files/<path:name>")
def file(name: str) -> Response:
    path = _data_dir() / name
    if not SERVED.fullmatch(name) or not path.is_file():
        return error_response("not_found")
    return send_file(path, mimetype="image/png" if path.suffix == ".png" else "text/plain", max_age=0)


@demo.post("/demo/<device_id>/tap")
def tap(device_id: str) -> Response:
    """A click on a kiosk's picture: `{"x": 0.5, "y": 0.25}`, fractions from its top-left corner."""
    # JSON only, from this page's own origin: another site cannot tap the kiosk through a visitor.
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        return _refused("forbidden")
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or not DEVICE.fullmatch(device_id):
        return _refused("bad_request", detail='{"x": 0..1, "y": 0..1} expected')
    x, y = body.get("x"), body.get("y")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in (x, y)):
        return _refused("bad_request", detail="x and y are fractions between 0 and 1")
    if not send_touch(_data_dir() / f"{device_id}.touch", float(x), float(y)):
        return _refused("demo_screen_absent", device=device_id)
    return Response(status=204)


def _refused(code: str, **values: object) -> Response:
    return json_error(code, message(code, language(), **values), status_for(code))
