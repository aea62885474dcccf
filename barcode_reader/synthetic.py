"""Synthetic camera scenes: a QR (segno) or Code 128 (python-barcode) printed on a grey counter,
rotated, blurred, shrunk and with sensor noise. Used by the tests, the benchmark and the demo's
simulated camera, through `SimulatedFrames`.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

BACKGROUND = 180  # a grey counter top


def qr_image(text: str, *, module_px: int = 4, border: int = 4) -> Image.Image:
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=module_px, border=border)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def code128_image(text: str, *, module_px: float = 2.0, height_px: int = 120) -> Image.Image:
    """Code 128 drawn by python-barcode's ImageWriter (printer extra) at `module_px` pixels a module."""
    import barcode
    from barcode.writer import ImageWriter

    # Drawn at 10 px a module, then reduced: drawn directly at 2 px, python-barcode's float mm → px
    # truncation makes some modules 1 px wide and neither decoder reads the result.
    options = {
        "module_width": 1.0,  # mm at 254 dpi = 10 px
        "module_height": 10.0,
        "quiet_zone": 15.0,  # modules; 10 is the minimum, printers add margin anyway
        "write_text": False,
        "dpi": 254,
    }
    drawn = barcode.get("code128", text, writer=ImageWriter()).render(options).convert("L")
    return drawn.resize((round(drawn.width * module_px / 10), height_px), Image.BOX)


def scene(
    symbol: Image.Image | None,
    size: tuple[int, int] = (640, 480),
    *,
    angle: float = 0.0,
    blur: float = 0.0,
    scale: float = 1.0,
    noise: int = 4,
    offset: tuple[int, int] = (0, 0),
    seed: int = 0,
) -> np.ndarray:
    """A grayscale frame (H×W uint8) with `symbol` centred (plus `offset`), or an empty counter."""
    canvas = Image.new("L", size, BACKGROUND)
    if symbol is not None:
        if scale != 1.0:
            symbol = symbol.resize(
                (max(1, round(symbol.width * scale)), max(1, round(symbol.height * scale))), Image.BILINEAR
            )
        if angle:
            symbol = symbol.rotate(angle, expand=True, fillcolor=255, resample=Image.BILINEAR)
        x = (size[0] - symbol.width) // 2 + offset[0]
        y = (size[1] - symbol.height) // 2 + offset[1]
        canvas.paste(symbol, (x, y))
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    frame = np.asarray(canvas, dtype=np.int16)
    if noise:
        frame = frame + np.random.default_rng(seed).integers(-noise, noise + 1, frame.shape, dtype=np.int16)
    return np.clip(frame, 0, 255).astype(np.uint8)
