"""Barcode reader benchmark: decode time per frame (zxing-cpp vs pyzbar), scan → MQTT latency, and
the CPU a camera source uses at 15 fps.

    .venv/bin/python -m bench.bench_barcode            # ~1 minute
    .venv/bin/python -m bench.bench_barcode --quick    # ~20 s

Prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from PIL import Image

from barcode_reader.camera import CameraSource, FrameSource
from barcode_reader.decoders import BarcodeDecoder, PyzbarDecoder, ZxingDecoder, pyzbar_available
from barcode_reader.synthetic import code128_image, qr_image, scene

TICKET_URL = "https://hub.local/t/Zk3_q-9xYw"
DOSSIER = "000.00.06.H56-231027-0361"
SIZES = [(640, 480), (1280, 720)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


# ----------------------------------------------------------------------------- decode time


def frames_for(size: tuple[int, int]) -> dict[str, np.ndarray]:
    big = size[0] >= 1280
    return {
        "empty": scene(None, size),
        "QR": scene(qr_image(TICKET_URL, module_px=6 if big else 4), size, angle=20),
        "Code 128": scene(code128_image(DOSSIER, module_px=3 if big else 2), size),
        "QR blurred σ=2": scene(qr_image(TICKET_URL, module_px=6 if big else 4), size, angle=45, blur=2),
    }


def time_decoder(decoder: BarcodeDecoder, frame: np.ndarray, runs: int) -> tuple[float, float, bool]:
    found = bool(decoder.decode(frame))  # warm-up, and whether it reads the frame at all
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        decoder.decode(frame)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 95), found


def bench_decode(runs: int) -> None:
    decoders: list[tuple[str, BarcodeDecoder]] = [
        ("zxing-cpp QR+Code128", ZxingDecoder(["qr", "code128"])),
        ("zxing-cpp QR+Code128, try_invert", ZxingDecoder(["qr", "code128"], try_invert=True)),
    ]
    if pyzbar_available():
        decoders.append(("pyzbar QR+Code128", PyzbarDecoder(["qr", "code128"])))
    else:
        print("(pyzbar not available: pip install pyzbar; apt-get install libzbar0)")
    print("\n### Decode time per frame (ms, median / p95; ✗ = not read)\n")
    print("| frame | size | " + " | ".join(name for name, _ in decoders) + " |")
    print("|---|---|" + "---|" * len(decoders))
    for size in SIZES:
        for name, frame in frames_for(size).items():
            cells = []
            for _, decoder in decoders:
                median, p95, found = time_decoder(decoder, frame, runs)
                mark = "" if found or name == "empty" else " ✗"
                cells.append(f"{median:.1f} / {p95:.1f}{mark}")
            print(f"| {name} | {size[0]}×{size[1]} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------------- scan → MQTT


def bench_latency(count: int) -> None:
    from paho.mqtt.client import Client, MQTTMessage
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from appliance.broker import PrivateBroker
    from appliance.config import MqttSettings
    from appliance.mqtt import Link
    from barcode_reader.serial_source import SerialSource
    from barcode_reader.service import MqttSink, ScannerService

    received: dict[str, float] = {}
    arrived = threading.Condition()

    def on_message(client: Client, userdata: object, message: MQTTMessage) -> None:
        import json

        code = json.loads(message.payload)["code"]
        with arrived:
            received[code] = time.perf_counter()
            arrived.notify_all()

    with TemporaryDirectory() as tmp, PrivateBroker() as broker:
        master, slave = os.openpty()
        port = Path(tmp) / "ttyACM0"
        port.symlink_to(os.ttyname(slave))
        os.close(slave)
        link = Link(MqttSettings(port=broker.port), site="bench", device_id="scanner-1", role="scanner")
        observer = Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        observer.on_message = on_message
        observer.on_socket_open = lambda client, userdata, sock: sock.setsockopt(6, 1, 1)  # TCP_NODELAY
        observer.connect("127.0.0.1", broker.port)
        observer.loop_start()
        observer.subscribe(link.topics.scans("scanner-1"), qos=1)
        service = ScannerService(SerialSource(str(port), terminator="cr"), MqttSink(link), read_timeout=0.5)
        with link:
            link.wait_connected(5)
            service.start()
            while not service.runner.attached:
                time.sleep(0.01)
            time.sleep(0.2)  # the observer's SUBACK
            latencies = []
            for i in range(count):
                code = f"CNTBD.181121.{i:05d}"
                start = time.perf_counter()
                os.write(master, code.encode() + b"\r")
                with arrived:
                    if not arrived.wait_for(lambda c=code: c in received, timeout=5):
                        raise SystemExit(f"scan {code} never arrived")
                latencies.append((received[code] - start) * 1000)
                time.sleep(0.01)
            service.stop()
        observer.loop_stop()
        observer.disconnect()
        os.close(master)
    print("\n### Scan → MQTT (serial pty → daemon → Mosquitto → subscriber, QoS 1)\n")
    print(
        f"{count} scans: median {statistics.median(latencies):.2f} ms, "
        f"p95 {percentile(latencies, 95):.2f} ms, max {max(latencies):.2f} ms"
    )


# ----------------------------------------------------------------------------- camera CPU


class PacedFrames(FrameSource):
    """A camera delivering `fps` frames a second, cycling through pre-made frames."""

    def __init__(self, pool: list[np.ndarray], fps: float) -> None:
        self.pool, self.interval = pool, 1.0 / fps
        self.next_at = 0.0
        self.index = 0

    @property
    def device(self) -> str:
        return "bench"

    def open(self) -> None:
        self.next_at = time.monotonic()

    def read(self, timeout: float) -> np.ndarray | None:
        pause = self.next_at - time.monotonic()
        if pause > timeout:
            time.sleep(timeout)
            return None
        if pause > 0:
            time.sleep(pause)
        self.next_at += self.interval
        self.index += 1
        return self.pool[self.index % len(self.pool)]

    def close(self) -> None:
        pass


def camera_cpu(
    make_frame: Callable[[int], np.ndarray],
    seconds: float,
    *,
    decode_rate: float,
    change_threshold: float = 8.0,
) -> tuple[float, CameraSource]:
    pool = [make_frame(i) for i in range(30)]
    decoder = ZxingDecoder(["qr", "code128"])
    source = CameraSource(
        PacedFrames(pool, 15), decoder, decode_rate=decode_rate, change_threshold=change_threshold
    )
    source.open()
    deadline = time.monotonic() + seconds
    wall0, cpu0 = time.monotonic(), time.process_time()
    while time.monotonic() < deadline:
        source.read(0.1)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    return 100 * cpu / wall, source


def bench_camera(seconds: float) -> None:
    print(f"\n### Camera source at 15 fps, zxing-cpp QR+Code128 ({seconds:g} s each; 100% = one core)\n")
    print("| scene | size | decode_rate | CPU % | frames | decoded | skipped unchanged | skipped rate |")
    print("|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        receipt = qr_image(TICKET_URL, module_px=6 if size[0] >= 1280 else 4)

        def still(i: int, symbol: Image.Image | None = receipt, size: tuple[int, int] = size) -> np.ndarray:
            return scene(symbol, size, seed=i)

        def moving(i: int, symbol: Image.Image = receipt, size: tuple[int, int] = size) -> np.ndarray:
            return scene(symbol, size, offset=(i * 7 - 100, 0), seed=i)

        def empty(i: int, size: tuple[int, int] = size) -> np.ndarray:
            return scene(None, size, seed=i)

        limited = {"decode_rate": 5.0}
        unlimited = {"decode_rate": 1000.0, "change_threshold": -1.0}
        scenarios: list[tuple[str, Callable[[int], np.ndarray], dict[str, float]]] = [
            ("empty counter (sensor noise)", empty, limited),
            ("receipt held still", still, limited),
            ("receipt moving", moving, limited),
            ("receipt moving, every frame decoded", moving, unlimited),
        ]
        for name, make, options in scenarios:
            cpu, source = camera_cpu(make, seconds, **options)
            stats = source.stats
            rate = "none" if options["decode_rate"] >= 1000 else f"{options['decode_rate']:g}/s"
            print(
                f"| {name} | {size[0]}×{size[1]} | {rate} | {cpu:.1f} | {stats.frames} | {stats.decoded} | "
                f"{stats.skipped_unchanged} | {stats.skipped_rate} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, shorter camera runs")
    args = parser.parse_args(argv)
    print(f"## Barcode reader ({os.cpu_count()} cores)")
    bench_decode(runs=20 if args.quick else 100)
    bench_latency(count=50 if args.quick else 200)
    bench_camera(seconds=2 if args.quick else 5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
