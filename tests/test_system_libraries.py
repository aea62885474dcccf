"""A machine without a system library an optional part needs: that part says which package to
install, instead of a traceback from deep inside the library (issue 19: a fresh machine)."""

from __future__ import annotations

import ctypes.util

import pytest

from appliance.kivy_setup import WindowLibraryMissing, configure_kivy


def test_kivy_window_without_opengl_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_library = ctypes.util.find_library
    # A Debian without libgl1: the dynamic loader finds no libGL.
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if name == "GL" else real_find_library(name)
    )
    with pytest.raises(WindowLibraryMissing) as missing:
        configure_kivy((1080, 1920), fullscreen=False)
    assert str(missing.value) == "kivy window: libGL missing (install libgl1 libgl1-mesa-dri)"
