"""`motcua <verb> …` runs any role. Each verb hands its arguments to the package that owns it, so
`motcua printer …` and `python -m ticket_printer …` are the same program."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

# verb: (module, function, arguments put before the user's, what it does)
VERBS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "hub": ("hub.__main__", "main", (), "the site hub: queue, RPC, web, relay"),
    "kiosk": ("kiosk.cli", "main", (), "the citizen touchscreen kiosk"),
    "printer": ("ticket_printer.cli", "main", ("run",), "the ESC/POS ticket and receipt printer daemon"),
    "render": ("ticket_printer.cli", "main", ("render",), "render a ticket or receipt to PNG"),
    "scanner": ("barcode_reader.cli", "main", (), "the barcode scanner daemon"),
    "led": ("led_board.cli", "main", (), "counter and hall LED boards, keypads, rating buttons"),
    "display": ("queue_display.cli", "main", ("display",), "the hall display with voice"),
    "announce": ("queue_display.cli", "main", ("announce",), "say or print one announcement"),
    "voicepack": ("queue_display.cli", "main", ("voicepack",), "build or check a voice pack"),
    "enroll": ("hub.enroll", "main", (), "enrol this device with the hub"),
    "fleet": ("hub.fleet.__main__", "main", (), "broker accounts and the bridge to a central broker"),
    "central-sim": ("hub.central_sim", "main", (), "a simulated central one-door system"),
    "demo": ("motcua.demo", "main", (), "a whole site on simulated hardware"),
    "province": ("province.__main__", "main", (), "the province service: every site's events in PostgreSQL"),
    "province-demo": ("province.demo", "main", (), "a province broker, PostgreSQL and N small sites"),
}


def usage() -> str:
    lines = ["usage: motcua <verb> [options]", "", "verbs:"]
    lines += [f"  {verb:<12} {text}" for verb, (_, _, _, text) in VERBS.items()]
    lines += ["", "motcua <verb> --help shows the options of a verb."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("--version", "version"):
        from appliance import __version__

        print(f"motcua {__version__}")
        return 0
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"motcua: unknown verb {verb!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, function, prefix, _ = VERBS[verb]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            print(f"motcua: '{verb}' is not part of this installation yet", file=sys.stderr)
            return 2
        raise
    entry: Callable[[list[str]], int] = getattr(module, function)
    return int(entry([*prefix, *rest]) or 0)


if __name__ == "__main__":
    sys.exit(main())
