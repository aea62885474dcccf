"""The province pages: one Jinja template (templates/province.html, three views), Vietnamese first."""

from pathlib import Path

PAGE = (Path(__file__).parent / "templates" / "province.html").read_text(encoding="utf-8")
