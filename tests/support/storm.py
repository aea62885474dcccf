"""A client process that fires many concurrent RPCs and prints each acknowledged reply at once.

    python -m tests.support.storm --port P --site S --caller kiosk-3 --method ticket.issue \
        --params '{"service_id": "dat-dai"}' --count 100 --concurrency 100

`--params-list '[{...}, {...}]'` sends request i with item i (mod the list's length) instead.

Prints one JSON line per reply as soon as it arrives (flushed), so a test that kills the hub in the
middle knows exactly which tickets were acknowledged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from appliance.config import MqttSettings
from appliance.mqtt import Link
from appliance.rpc import RpcClient, RpcError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--caller", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--params", default="{}")
    # A JSON list of params objects: request i sends item i (mod its length), e.g. one number each.
    parser.add_argument("--params-list", default=None)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    params = json.loads(args.params)
    params_list = json.loads(args.params_list) if args.params_list else [params]
    settings = MqttSettings(host="127.0.0.1", port=args.port, reconnect_min=0.05, reconnect_max=0.5)
    out_lock = threading.Lock()
    start = threading.Barrier(min(args.concurrency, args.count))

    with Link(settings, site=args.site, device_id=args.caller, role="kiosk") as link:
        if not link.wait_connected(10):
            print(json.dumps({"fatal": "no broker"}), flush=True)
            return 1
        client = RpcClient(link, default_timeout=args.timeout)

        def one(index: int) -> None:
            if index < start.parties:
                with contextlib.suppress(threading.BrokenBarrierError):
                    start.wait(timeout=10)  # fire together: that is the point of the storm
            try:
                chosen = params_list[index % len(params_list)]
                result = client.call(args.method, chosen, request_id=f"{args.caller}-{index}")
                line = {"ok": True, "result": result}
            except RpcError as error:
                line = {"ok": False, "code": error.code, "message": error.message}
            with out_lock:
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
                sys.stdout.flush()

        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(one, range(args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
