"""Barcode readers: USB HID keyboard-wedge (evdev), serial/USB-COM (pyserial) and camera (zxing-cpp)
scanners turned into `scans/{device_id}` events, with hot-plug and health reporting.

Entry point: `python -m barcode_reader --config scanner.toml` (`barcode_reader.cli.main`).
"""
