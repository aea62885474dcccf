"""The hub's web server over HTTPS: a console's connection kept from request to request, against a
new connection (and TLS handshake) per request.

    .venv/bin/python -m bench.bench_web_keepalive [--requests 200]

The sample site's web app in this process on the hub's own server (hub.web.app.serve) with the
site CA's certificate; `GET /api/v1/queue` (an officer's page polls it), one client. Server CPU =
the process's CPU minus the client thread's, per request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.service import QueueService  # noqa: E402
from hub.site import HubConfig  # noqa: E402
from hub.web.app import create_app, serve  # noqa: E402
from hub.web.tls import ensure_site_certificates, server_context  # noqa: E402
from tests.support.hub import site_config  # noqa: E402


def measure(port: int, context: ssl.SSLContext, requests: int, *, kept: bool) -> dict[str, float]:
    connection: http.client.HTTPSConnection | None = None
    before, client_before, started = (
        resource.getrusage(resource.RUSAGE_SELF),
        time.thread_time(),
        time.perf_counter(),
    )
    for _ in range(requests):
        if connection is None:
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        connection.request("GET", "/api/v1/queue")
        response = connection.getresponse()
        response.read()
        if not kept or response.will_close:
            connection.close()
            connection = None
    wall = time.perf_counter() - started
    after, client = resource.getrusage(resource.RUSAGE_SELF), time.thread_time() - client_before
    spent = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime - client
    if connection is not None:
        connection.close()
    return {"server_cpu_ms": round(spent * 1000 / requests, 2), "wall_ms": round(wall * 1000 / requests, 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-keepalive-"))
    service = QueueService(HubConfig.model_validate(site_config(tmp, 1883)), tmp / "hub.db")
    certificates = ensure_site_certificates(tmp / "tls", ["127.0.0.1"], site="bench")
    app = create_app(service, broker_connected=lambda: True)
    server = serve(app, "127.0.0.1", 0, tls=server_context(certificates))
    context = ssl.create_default_context(cafile=str(certificates.ca))
    context.check_hostname = False  # the certificate names the site's hosts; the bench dials an IP
    results: dict[str, object] = {"load_before": os.getloadavg()}
    try:
        for round_ in (1, 2):
            results[f"kept_{round_}"] = measure(server.port, context, args.requests, kept=True)
            results[f"new_connection_{round_}"] = measure(server.port, context, args.requests, kept=False)
    finally:
        server.shutdown()
        service.close()
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
