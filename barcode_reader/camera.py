"""Camera scanners: frames from a `FrameSource`, decoded at a bounded rate, unchanged frames skipped.

A camera delivers 15–30 frames a second; decoding each would keep a core busy for nothing. The camera
source decodes at most `decode_rate` frames a second and only when the picture changed since the
last decoded frame (compared on a cheap 16-pixel-cell thumbnail), so a kiosk camera looking at an
empty counter costs almost nothing.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decoders import BarcodeDecoder
from .errors import BackendUnavailable, DeviceLost, DeviceUnavailable
from .source import RawScan, ScanSource

THUMB_STEP = 4  # sample every 4th pixel of every 4th row…
THUMB_CELL = 4  # …then average 4×4 samples: one thumbnail cell per 16×16 pixels


class FrameSource(ABC):
    """Where frames come from: a V4L2 camera, or frames a test or benchmark pushes."""

    @property
    @abstractmethod
    def device(self) -> str: ...

    @abstractmethod
    def open(self) -> None:
        """Raise DeviceUnavailable when the camera is absent or busy."""

    @abstractmethod
    def read(self, timeout: float) -> np.ndarray | None:
        """The next frame as a 2-D uint8 grayscale array, None after `timeout` s; DeviceLost if gone."""

    @abstractmethod
    def close(self) -> None: ...


class SimulatedFrames(FrameSource):
    """Frames pushed by a test, a benchmark or the demo; can be unplugged and plugged back.

    With `fps`, frames are handed out no faster than a real camera would deliver them.
    """

    def __init__(
        self, frames: Iterable[np.ndarray] = (), *, fps: float | None = None, name: str = "sim"
    ) -> None:
        self._frames: deque[np.ndarray] = deque(frames)
        self._fps = fps
        self._name = name
        self._lock = threading.Condition()
        self._plugged = True
        self._open = False
        self._next_at = 0.0
        self.frames_read = 0
        self.repeat_last = False  # keep returning the last frame when none is queued (a still scene)
        self._last: np.ndarray | None = None

    @property
    def device(self) -> str:
        return f"simulated-camera:{self._name}"

    def push(self, *frames: np.ndarray) -> None:
        with self._lock:
            self._frames.extend(frames)
            self._lock.notify_all()

    def unplug(self) -> None:
        self._plug(False)

    def replug(self) -> None:
        self._plug(True)

    def _plug(self, plugged: bool) -> None:
        with self._lock:
            self._plugged = plugged
            self._lock.notify_all()

    def open(self) -> None:
        with self._lock:
            if not self._plugged:
                raise DeviceUnavailable(self.device, "no such device")
            self._open = True

    def read(self, timeout: float) -> np.ndarray | None:
        deadline = time.monotonic() + timeout
        if self._fps:
            pause = self._next_at - time.monotonic()
            if pause > 0:
                time.sleep(min(pause, timeout))
            self._next_at = max(self._next_at, time.monotonic()) + 1.0 / self._fps
        with self._lock:
            while True:
                if not self._plugged:
                    raise DeviceLost(self.device, "camera unplugged")
                if self._frames:
                    frame = self._frames.popleft()
                    break
                if self.repeat_last and self._last is not None:
                    frame = self._last
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)
            self._last = frame
            self.frames_read += 1
            return frame

    def close(self) -> None:
        self._open = False


class V4L2Frames(FrameSource):
    """A real camera through OpenCV's V4L2 capture (optional: `pip install opencv-python-headless`)."""

    def __init__(
        self, device: str = "/dev/video0", *, width: int = 640, height: int = 480, fps: float = 15
    ) -> None:
        self._device = device
        self.width, self.height, self.fps = width, height, fps
        self._capture: Any = None
        self._cv2: Any = None

    @staticmethod
    def load_backend() -> Any:
        try:
            import cv2
        except ImportError:
            raise BackendUnavailable(
                "camera capture needs OpenCV: pip install opencv-python-headless"
            ) from None
        return cv2

    @property
    def device(self) -> str:
        return self._device

    def open(self) -> None:
        self.close()
        cv2 = self._cv2 = self.load_backend()
        if not os.path.exists(self._device):
            raise DeviceUnavailable(self._device, "no such device")
        capture = cv2.VideoCapture(self._device, cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(self._device, "cannot open camera (busy or not a capture device)")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # always decode the newest frame, not a stale one
        self._capture = capture

    def read(self, timeout: float) -> np.ndarray | None:
        if self._capture is None:
            raise DeviceLost(self._device, "not open")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            gone = not os.path.exists(self._device)
            raise DeviceLost(self._device, "camera unplugged" if gone else "camera stopped delivering frames")
        if frame.ndim == 3:
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return frame

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A small float32 picture of the frame, one cell per 16×16 pixels, for change detection."""
    if frame.ndim == 3:
        frame = frame[..., 1]  # green carries most of the luminance; no full conversion needed
    sampled = frame[::THUMB_STEP, ::THUMB_STEP]
    rows = sampled.shape[0] // THUMB_CELL * THUMB_CELL
    cols = sampled.shape[1] // THUMB_CELL * THUMB_CELL
    cells = sampled[:rows, :cols].reshape(rows // THUMB_CELL, THUMB_CELL, cols // THUMB_CELL, THUMB_CELL)
    return cells.mean(axis=(1, 3), dtype=np.float32)


def changed(current: np.ndarray, previous: np.ndarray | None, threshold: float) -> bool:
    """True when any cell's mean brightness moved by more than `threshold` grey levels."""
    if previous is None or previous.shape != current.shape:
        return True
    return float(np.max(np.abs(current - previous))) > threshold


@dataclass
class CameraStats:
    frames: int = 0
    decoded: int = 0
    skipped_rate: int = 0
    skipped_unchanged: int = 0
    found: int = 0


class CameraSource(ScanSource):
    kind = "camera"

    def __init__(
        self,
        frames: FrameSource,
        decoder: BarcodeDecoder,
        *,
        decode_rate: float = 5.0,
        change_threshold: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if decode_rate <= 0:
            raise ValueError(f"decode_rate must be > 0, not {decode_rate}")
        self.frames = frames
        self.decoder = decoder
        self.decode_interval = 1.0 / decode_rate
        self.change_threshold = change_threshold
        self._clock = clock
        self._next_decode_at = 0.0
        self._last_thumb: np.ndarray | None = None
        self._pending: deque[RawScan] = deque()
        self.stats = CameraStats()

    @property
    def device(self) -> str:
        return self.frames.device

    def open(self) -> None:
        self.frames.open()
        self._last_thumb = None
        self._next_decode_at = 0.0
        self._pending.clear()

    def read(self, timeout: float) -> RawScan | None:
        deadline = self._clock() + timeout
        while not self._pending:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            frame = self.frames.read(remaining)
            if frame is not None:
                self._consider(frame)
        return self._pending.popleft()

    def _consider(self, frame: np.ndarray) -> None:
        self.stats.frames += 1
        moment = self._clock()
        if moment < self._next_decode_at:
            self.stats.skipped_rate += 1
            return
        thumb = thumbnail(frame)
        if not changed(thumb, self._last_thumb, self.change_threshold):
            self.stats.skipped_unchanged += 1
            return
        self._next_decode_at = moment + self.decode_interval
        self._last_thumb = thumb
        self.stats.decoded += 1
        gray = frame if frame.ndim == 2 else np.ascontiguousarray(frame[..., 1])
        for result in self.decoder.decode(gray):
            self.stats.found += 1
            self._pending.append(RawScan(result.text, result.symbology))

    def close(self) -> None:
        self.frames.close()
