"""A device daemon's command line up to the point it runs, done one way everywhere: the options every
process has (appliance.startup.process_parser) plus the ones that print something and exit
(`--list-devices`, `--example-config`, …), logging, the configuration loaded and `--check`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .logs import setup_logging
from .startup import CONFIG_ERROR_EXIT_CODE, load_config

Config = TypeVar("Config")


@dataclass(frozen=True)
class Answer:
    """An option that prints `text()` and exits with 0 instead of running the daemon."""

    option: str
    help: str
    text: Callable[[], str]


def example_config(path: Path) -> Answer:
    """`--example-config`: the commented example TOML the package ships."""
    return Answer(
        "--example-config", "print an example configuration", lambda: path.read_text(encoding="utf-8")
    )


def device_list(help: str, sections: Sequence[tuple[str, Callable[[], list[str]]]]) -> Answer:
    """`--list-devices`: what a technician needs to fill the configuration, a heading and its lines
    (appliance.hardware) for each kind of device."""

    def text() -> str:
        return "\n".join(line for heading, lines in sections for line in (heading, *lines()))

    return Answer("--list-devices", help, text)


def configured(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    load: Callable[[str | Path], Config],
    *,
    answers: Sequence[Answer],
    summary: Callable[[Config], str],
) -> tuple[argparse.Namespace, Config] | int:
    """(the arguments, the configuration) for the daemon to run, or the exit code when there is
    nothing to run: an answer printed, the configuration refused (CONFIG_ERROR_EXIT_CODE), or found
    good by `--check` (it prints `{path}: OK — {summary(config)}`)."""
    for answer in answers:
        parser.add_argument(answer.option, action="store_true", help=answer.help)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    for answer in answers:
        if getattr(args, answer.option.removeprefix("--").replace("-", "_")):
            text = answer.text()
            print(text, end="" if text.endswith("\n") else "\n")
            return 0
    config = load_config(args.config, load)
    if config is None:
        return CONFIG_ERROR_EXIT_CODE
    if args.check:
        print(f"{args.config}: OK — {summary(config)}")
        return 0
    return args, config
