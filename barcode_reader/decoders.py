"""Image barcode decoders: zxing-cpp (default) and pyzbar (optional, needs Debian libzbar0).

Both are limited to the symbologies in use: every extra format costs decode time and false reads.
Symbology names are ours (lower case, stable on the wire) and mapped to each library's names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import BackendUnavailable

Backend = Literal["zxing", "pyzbar"]
Symbology = Literal[
    "qr",
    "micro_qr",
    "datamatrix",
    "aztec",
    "pdf417",
    "code128",
    "code39",
    "code93",
    "codabar",
    "ean13",
    "ean8",
    "upca",
    "upce",
    "itf",
]

# our name -> (zxing-cpp BarcodeFormat member, pyzbar ZBarSymbol member or None)
SYMBOLOGIES: dict[str, tuple[str, str | None]] = {
    "qr": ("QRCode", "QRCODE"),
    "micro_qr": ("MicroQRCode", None),
    "datamatrix": ("DataMatrix", None),
    "aztec": ("Aztec", None),
    "pdf417": ("PDF417", "PDF417"),
    "code128": ("Code128", "CODE128"),
    "code39": ("Code39", "CODE39"),
    "code93": ("Code93", "CODE93"),
    "codabar": ("Codabar", "CODABAR"),
    "ean13": ("EAN13", "EAN13"),
    "ean8": ("EAN8", "EAN8"),
    "upca": ("UPCA", "UPCA"),
    "upce": ("UPCE", "UPCE"),
    "itf": ("ITF", "I25"),
}
DEFAULT_FORMATS: tuple[str, ...] = ("qr", "code128")


@dataclass(frozen=True)
class Decoded:
    text: str
    symbology: str


class BarcodeDecoder(ABC):
    name: str

    def __init__(self, formats: Sequence[str] = DEFAULT_FORMATS) -> None:
        unknown = [name for name in formats if name not in SYMBOLOGIES]
        if unknown or not formats:
            raise ValueError(
                f"unknown barcode formats {unknown or '(none given)'}; known: {', '.join(SYMBOLOGIES)}"
            )
        self.formats = tuple(formats)

    @abstractmethod
    def decode(self, gray: np.ndarray) -> list[Decoded]:
        """Every barcode of the configured formats found in a 2-D uint8 grayscale image."""


class ZxingDecoder(BarcodeDecoder):
    name = "zxing"

    def __init__(self, formats: Sequence[str] = DEFAULT_FORMATS, *, try_invert: bool = False) -> None:
        super().__init__(formats)
        import zxingcpp

        self._zxing = zxingcpp
        self._flags = [getattr(zxingcpp.BarcodeFormat, SYMBOLOGIES[name][0]) for name in self.formats]
        # Printed receipts are dark on light: skipping the inverted pass halves the work on empty frames.
        self._try_invert = try_invert
        self._names = {SYMBOLOGIES[name][0]: name for name in self.formats}

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        found = self._zxing.read_barcodes(gray, formats=self._flags, try_invert=self._try_invert)
        return [
            Decoded(barcode.text, self._names.get(barcode.format.name, barcode.format.name.lower()))
            for barcode in found
            if barcode.valid and barcode.text
        ]


class PyzbarDecoder(BarcodeDecoder):
    name = "pyzbar"

    def __init__(self, formats: Sequence[str] = DEFAULT_FORMATS) -> None:
        super().__init__(formats)
        unsupported = [name for name in self.formats if SYMBOLOGIES[name][1] is None]
        if unsupported:
            raise ValueError(f"pyzbar cannot read {', '.join(unsupported)}: use backend zxing")
        try:
            from pyzbar import pyzbar
        except (ImportError, OSError) as error:
            raise BackendUnavailable(
                f"pyzbar backend unavailable ({error}): pip install pyzbar and apt-get install libzbar0"
            ) from None
        self._pyzbar: Any = pyzbar
        self._symbols = [getattr(pyzbar.ZBarSymbol, SYMBOLOGIES[name][1] or "") for name in self.formats]
        self._names = {SYMBOLOGIES[name][1]: name for name in self.formats}

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        height, width = gray.shape[:2]
        data = np.ascontiguousarray(gray).tobytes()
        found = self._pyzbar.decode((data, width, height), symbols=self._symbols)
        results = []
        for symbol in found:
            try:
                text = symbol.data.decode("utf-8")
            except UnicodeDecodeError:
                text = symbol.data.decode("latin-1")
            if text:
                results.append(Decoded(text, self._names.get(symbol.type, str(symbol.type).lower())))
        return results


def make_decoder(backend: Backend, formats: Sequence[str] = DEFAULT_FORMATS) -> BarcodeDecoder:
    if backend == "zxing":
        return ZxingDecoder(formats)
    if backend == "pyzbar":
        return PyzbarDecoder(formats)
    raise ValueError(f"unknown decoder backend {backend!r}: use zxing or pyzbar")


def pyzbar_available() -> bool:
    try:
        PyzbarDecoder(DEFAULT_FORMATS)
    except BackendUnavailable:
        return False
    return True
