"""``python -m perdure serve module:app [--host H] [--port P]``: serve an app over gRPC."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from perdure.endpoint import App
from perdure.server import serve


def load_app(target: str) -> App:
    """Import ``module:attribute`` (attribute defaults to ``app``) and check it is an App."""
    module_name, _, attribute = target.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    found = getattr(module, attribute or "app", None)
    if not isinstance(found, App):
        raise SystemExit(f"{target!r} is not a perdure App (create one with perdure.app(...))")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perdure")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve a deployment app over gRPC")
    run.add_argument("app", help="module:attribute of the app, e.g. examples.services:app")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=9080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(load_app(args.app), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
