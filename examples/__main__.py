"""``python -m examples [--host 127.0.0.1] [--port 9080]``: serve the example services over gRPC."""

from __future__ import annotations

import argparse
import logging

import perdure as restate
from examples.services import app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    restate.serve(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
