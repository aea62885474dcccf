"""Command line of the printer package (`python -m ticket_printer`, `motcua printer`, `motcua render`).

python -m ticket_printer [run] -c printer.toml           the daemon (also `motcua printer`)
python -m ticket_printer render ticket|receipt|test --json job.json -o ticket.png [--width 576]
python -m ticket_printer status -c printer.toml          ask the printer for paper/online state
python -m ticket_printer print -c printer.toml --json job.json   print one job, no MQTT
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from appliance.config import load
from appliance.errors import MotcuaError
from appliance.logs import setup_logging
from appliance.startup import run_until_stopped
from appliance.timeutil import now

from .config import PrinterConfig
from .documents import render_job
from .errors import PrintingError
from .jobs import JOB_KINDS, Job, ReceiptJob, parse_job
from .layout import PAPERS, Fonts, paper_for
from .text_layout import render_text_job

log = logging.getLogger("ticket_printer")
COMMANDS = ("run", "render", "status", "print")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ticket_printer", description="ESC/POS ticket printer")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the printer daemon")
    run.add_argument("-c", "--config", required=True, type=Path, help="the printer's TOML file")
    run.add_argument("-v", "--verbose", action="store_true")

    render = commands.add_parser("render", help="draw a job as the printer would print it, to PNG")
    render.add_argument("kind", choices=JOB_KINDS)
    render.add_argument("--json", required=True, dest="json_file", help="job or its data (JSON); - = stdin")
    render.add_argument("-o", "--out", required=True, type=Path, help="PNG file to write")
    render.add_argument("--width", type=int, default=576, choices=sorted(PAPERS), help="dots (default 576)")
    render.add_argument("--language", choices=("vi", "en"), default="vi")
    render.add_argument("--footer", help="ticket footer when the job has none")
    render.add_argument("--font-dir", help="folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf")

    status = commands.add_parser("status", help="ask the configured printer for its status")
    status.add_argument("-c", "--config", required=True, type=Path)

    print_ = commands.add_parser("print", help="print one job directly (no MQTT), e.g. a test page")
    print_.add_argument("-c", "--config", required=True, type=Path)
    print_.add_argument("--json", dest="json_file", help="job as JSON (default: a test page); - for stdin")
    return parser


def _read_json(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text)


def as_job(kind: str, data: Any) -> Job:
    """A full job payload, or just its data (a ticket, a receipt), completed into a job of `kind`."""
    if not isinstance(data, dict):
        raise PrintingError("print_bad_job", detail="the JSON must be an object")
    if "kind" in data and data["kind"] != kind:
        raise PrintingError("print_bad_job", detail=f"the JSON holds a {data['kind']!r} job, not {kind!r}")
    if kind == "ticket" and "ticket" not in data and "number" in data:
        data = {"ticket": data, "site_name": data.get("site_name", "")}
    if kind == "receipt" and "receipt" not in data and "dossier_code" in data:
        data = {"receipt": data}
    return parse_job({"v": 1, "job_id": "render", "kind": kind, **data})


def render(args: argparse.Namespace) -> int:
    try:
        job = as_job(args.kind, _read_json(args.json_file))
        image = render_job(
            job,
            paper_for(args.width),
            fonts=Fonts(args.font_dir),
            language=args.language,
            footer=args.footer,
            printer_name="render",
            now=now(),
        )
    except (OSError, json.JSONDecodeError) as error:
        print(f"render: cannot read {args.json_file}: {error}", file=sys.stderr)
        return 1
    except PrintingError as error:
        print(f"render: {error.message_en} ({error.message})", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out)
    print(f"{args.out}: {image.width}×{image.height} dots, 1-bit")
    return 0


def status(args: argparse.Namespace) -> int:
    from .printer import open_printer

    config = load(args.config, PrinterConfig)
    with open_printer(config.printer) as printer:
        state = printer.status()
        print(json.dumps({"printer": printer.name, **state.as_health(), "ready": state.ready}))
    return 0 if state.ready else 1


def print_one(args: argparse.Namespace) -> int:
    from .printer import open_printer

    config = load(args.config, PrinterConfig)
    data = _read_json(args.json_file) if args.json_file else {"v": 1, "job_id": "cli-test", "kind": "test"}
    try:
        job = parse_job(data)
        with open_printer(config.printer) as printer:
            copies = job.copies if isinstance(job, ReceiptJob) else 1
            common: dict[str, Any] = {
                "language": config.language,
                "footer": config.jobs.footer,
                "printer_name": printer.name,
                "now": now(),
            }
            if config.printer.mode == "text":  # the printer's TCVN-3 fonts, as the daemon would print
                document = render_text_job(job, config.printer.dots, **common)
                for _ in range(copies):
                    printer.print_text(document)
            else:
                image = render_job(
                    job, paper_for(config.printer.dots), fonts=Fonts(config.printer.font_dir), **common
                )
                for _ in range(copies):
                    printer.print_image(image)
    except PrintingError as error:
        print(f"print: {error.message_en} ({error.message})", file=sys.stderr)
        return 1
    print(f"printed {job.kind} {job.job_id} on {printer.name}")
    return 0


def run(args: argparse.Namespace) -> int:
    # Logging first: python-escpos calls logging.basicConfig() when imported, which would win.
    setup_logging(args.verbose)
    from .daemon import PrinterDaemon

    config = load(args.config, PrinterConfig)
    daemon = PrinterDaemon(config, config_path=args.config)

    def status() -> str:
        health = daemon.health()
        return f"paper {health['paper']}, online {health['online']}, {health['pending']} pending"

    return run_until_stopped(daemon, healthy=daemon.healthy, status=status, poll_s=1.0)


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `python -m ticket_printer -c printer.toml` runs the daemon, like `motcua printer -c …`.
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help"):
        args_list.insert(0, "run")
    args = _parser().parse_args(args_list)
    try:
        if args.command == "render":
            return render(args)
        if args.command == "status":
            return status(args)
        if args.command == "print":
            return print_one(args)
        return run(args)
    except MotcuaError as error:
        print(f"ticket_printer: {error}", file=sys.stderr)
        return 2
