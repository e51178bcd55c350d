"""``python -m app [--port N] [--address HOST]``: start the Streamlit app."""

from __future__ import annotations

import argparse
import os

from app.launch import streamlit_command


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()
    command = streamlit_command(args.port, args.address)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
