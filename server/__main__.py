"""``huddle`` / ``python -m server``: parse flags and environment into Settings, then serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from server.app import create_app
from server.config import OPTIONS, SettingsError, load_settings
from server.logs import configure_logging

logger = logging.getLogger("server")


def parse_overrides(argv: Sequence[str]) -> dict[str, str]:
    """CLI flags, returned as the environment variables they override."""
    parser = argparse.ArgumentParser(prog="huddle", description="Huddle realtime server")
    for option in OPTIONS:
        parser.add_argument(option.flag, dest=option.env, metavar="VALUE", help=option.help)
    args = vars(parser.parse_args(argv))
    return {env: value for env, value in args.items() if value is not None}


def main(argv: Sequence[str] | None = None) -> None:
    overrides = parse_overrides(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings({**os.environ, **overrides})
    except SettingsError as exc:
        print(f"huddle: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    loop = new_event_loop(settings.event_loop)
    logger.info("listening on http://%s:%s (%s event loop)", settings.host, settings.port,
                type(loop).__module__.split(".")[0])
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                loop=loop)


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (not on Windows): a faster loop and transports."""
    if kind == "uvloop":
        try:
            import uvloop  # noqa: PLC0415 - optional at run time
        except ImportError:
            logger.warning("uvloop is not installed; using the asyncio event loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


if __name__ == "__main__":
    main()
