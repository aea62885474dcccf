"""Command line of the hall display: `motcua display | announce | voicepack`.

motcua display -c /etc/motcua/display.toml            # the full-screen board with voice
motcua display -c display.toml --no-screen            # voice only (or a test)
motcua display --demo 40 --screenshot out/board.png   # render a made-up hall of 40 counters
motcua announce --ticket 1023 --counter 5 --text-only # print the sentence
motcua announce --ticket A023 --counter 3A --wav out.wav
motcua voicepack build [-c display.toml] [--out DIR] [--force]
motcua voicepack check [-c display.toml] [--pack DIR]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from appliance.config import load
from appliance.errors import ConfigError, MotcuaError
from appliance.logs import setup_logging

from .announce import AnnounceError, AnnounceSettings, build_announcement, vocabulary
from .audio import AplaySink
from .config import DisplayConfig
from .numbers import Dialect
from .voicepack import VoicePack, build_pack, default_keys, default_pack_dir, ensure_pack, tqdm_progress

log = logging.getLogger("queue_display")

DEFAULT_CONFIG = "/etc/motcua/display.toml"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(getattr(args, "verbose", False))
    try:
        return int(args.run(args))
    except (ConfigError, AnnounceError) as error:
        print(error, file=sys.stderr)
        return 2
    except MotcuaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motcua", description="Hall display and voice announcements.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{display,announce,voicepack}")

    display = commands.add_parser("display", help="run the hall display", description="Run the hall display.")
    display.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"TOML file (default {DEFAULT_CONFIG})"
    )
    display.add_argument("--no-screen", action="store_true", help="announcements only, no window")
    display.add_argument("--windowed", action="store_true", help="not full screen (for a desk)")
    display.add_argument("--orientation", choices=["landscape", "portrait"], help="override [screen]")
    display.add_argument("--demo", type=int, metavar="N", help="show a made-up hall of N counters, no MQTT")
    display.add_argument("--screenshot", type=Path, help="save a PNG of the screen and exit")
    display.add_argument("--check", action="store_true", help="validate the configuration and exit")
    display.add_argument("-v", "--verbose", action="store_true")
    display.set_defaults(run=_run_display)

    announce = commands.add_parser(
        "announce", help="print, write or play one announcement", description="Build one announcement."
    )
    announce.add_argument("--ticket", required=True, help='ticket number, e.g. 1023 or "A023"')
    announce.add_argument("--counter", help='counter, e.g. 5 or "3A"')
    output = announce.add_mutually_exclusive_group()
    output.add_argument("--text-only", action="store_true", help="print the sentence and exit")
    output.add_argument("--wav", type=Path, help="write the announcement to this WAV file")
    announce.add_argument("-c", "--config", help="take the [announce] and [audio] settings from this file")
    announce.add_argument("--voice-pack", type=Path, help="voice pack folder (default: the configured one)")
    announce.add_argument("--mode", choices=["digits", "cardinal"], help="how to read the ticket number")
    announce.add_argument("--region", choices=["north", "south"], help="linh/nghìn or lẻ/ngàn")
    announce.add_argument("--tu", action="store_true", help='say "tư" for 4 after "mươi"')
    announce.add_argument("--repeats", type=int, choices=range(1, 6), metavar="1-5")
    announce.add_argument("--template", help='e.g. "Mời số {number} đến quầy {counter}"')
    announce.add_argument("-v", "--verbose", action="store_true")
    announce.set_defaults(run=_run_announce)

    voicepack = commands.add_parser("voicepack", help="build or check a voice pack")
    pack_commands = voicepack.add_subparsers(dest="pack_command", required=True)
    build = pack_commands.add_parser("build", help="make the default pack with espeak-ng")
    build.add_argument("-c", "--config", help="include this display's template and write to its voice_pack")
    build.add_argument(
        "--out", type=Path, help="pack folder (default: the configured one, or a cache folder)"
    )
    build.add_argument("--force", action="store_true", help="re-synthesise clips that exist (human ones too)")
    build.add_argument("--voice", default="vi", help="espeak-ng voice: vi, vi-vn-x-central, vi-vn-x-south")
    build.add_argument("--speed", type=int, default=160, help="words per minute (default 160)")
    build.add_argument("-v", "--verbose", action="store_true")
    build.set_defaults(run=_run_pack_build)
    check = pack_commands.add_parser("check", help="load a pack and list the clips it lacks")
    check.add_argument("-c", "--config", help="check against this display's settings")
    check.add_argument("--pack", type=Path, help="pack folder (default: the configured one)")
    check.set_defaults(run=_run_pack_check)
    return parser


# ---------------------------------------------------------------------- announce


def _announce_settings(args: argparse.Namespace, config: DisplayConfig | None) -> AnnounceSettings:
    base = config.announce if config is not None else None
    region = args.region or (base.region if base else "north")
    four_as_tu = args.tu or (base.four_as_tu if base else False)
    defaults = base.settings() if base else AnnounceSettings()
    return AnnounceSettings(
        template=args.template or defaults.template,
        number_mode=args.mode or defaults.number_mode,
        counter_mode=defaults.counter_mode,
        leading_zeros=defaults.leading_zeros,
        dialect=Dialect.for_region(region, four_as_tu=four_as_tu),
        repeats=args.repeats or defaults.repeats,
        chime=defaults.chime,
    )


def _run_announce(args: argparse.Namespace) -> int:
    config = load(args.config, DisplayConfig) if args.config else None
    settings = _announce_settings(args, config)
    announcement = build_announcement(args.ticket, args.counter, settings)
    print(announcement.text, flush=True)
    if args.text_only:
        return 0
    pack_dir = args.voice_pack or (config.voice_pack_dir if config else default_pack_dir())
    pack = ensure_pack(pack_dir, settings, progress=tqdm_progress)
    audio = pack.assemble(announcement.clips)
    if args.wav:
        audio.write(args.wav)
        print(f"{args.wav}: {audio.duration_s:.2f} s, {audio.sample_rate} Hz", file=sys.stderr)
        return 0
    from .service import make_sink

    sink = make_sink(config) if config else AplaySink()
    sink.play(audio, label=f"{args.ticket}-{args.counter or ''}")
    sink.close()
    return 0


# ---------------------------------------------------------------------- voice packs


def _run_pack_build(args: argparse.Namespace) -> int:
    from .voicepack import EspeakSynthesizer

    config = load(args.config, DisplayConfig) if args.config else None
    out = args.out or (config.voice_pack_dir if config else default_pack_dir())
    keys = default_keys([config.announce.settings()] if config else [])
    manifest = build_pack(
        out,
        keys,
        synthesize=EspeakSynthesizer(args.voice, speed_wpm=args.speed),
        name=f"espeak-ng {args.voice}",
        force=args.force,
        progress=tqdm_progress,
    )
    print(f"{out}: {len(manifest.clips)} clips, {manifest.sample_rate} Hz")
    return 0


def _run_pack_check(args: argparse.Namespace) -> int:
    config = load(args.config, DisplayConfig) if args.config else None
    directory = args.pack or (config.voice_pack_dir if config else default_pack_dir())
    pack = VoicePack.load(directory)
    settings = config.announce.settings() if config else AnnounceSettings()
    missing = pack.missing(vocabulary(settings))
    if missing:
        print(f"{directory}: missing clips: {', '.join(missing)}")
        return 1
    print(f"{directory}: OK, {len(pack.clips)} clips, {pack.manifest.sample_rate} Hz")
    return 0


# ---------------------------------------------------------------------- display


def _run_display(args: argparse.Namespace) -> int:
    if args.demo is not None:
        config = DisplayConfig(device_id="display-demo", site="demo")
    else:
        config = load(args.config, DisplayConfig)
    if args.orientation:
        config = config.model_copy(
            update={"screen": config.screen.model_copy(update={"orientation": args.orientation})}
        )
    if args.check:
        print(f"{args.config}: OK — {config.device_id} at site {config.site}, {config.screen.orientation}")
        return 0
    if args.demo is not None:
        from .view import run_demo

        return run_demo(config, counters=args.demo, screenshot=args.screenshot, fullscreen=not args.windowed)

    from appliance.device import RESTART_EXIT_CODE
    from appliance.notify import Notifier

    from .device import DisplayCommands
    from .service import DisplayService

    service = DisplayService(config)
    stop = threading.Event()

    def close_for_restart() -> None:  # the hub's "restart": close the window, exit with 75
        stop.set()
        if not args.no_screen:
            from appliance.startup import close_kivy_app

            close_kivy_app()

    commands = DisplayCommands(service, config_path=Path(args.config), on_restart=close_for_restart)
    # Healthy = the player and the screen are alive; a lost broker is shown, not restarted.
    notifier = Notifier(healthy=lambda: service.alive(screen=not args.no_screen))
    service.start()
    notifier.ready()
    log.info("display %s ready (site %s, %s)", config.device_id, config.site, config.screen.orientation)
    try:
        if args.no_screen:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            stop.wait()
        else:
            from .view import run_board

            run_board(
                service, fullscreen=config.screen.fullscreen and not args.windowed, screenshot=args.screenshot
            )
    finally:
        notifier.stopping()
        commands.close()
        service.stop()
    return RESTART_EXIT_CODE if commands.restart_requested.is_set() else 0
