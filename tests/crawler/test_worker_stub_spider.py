"""A stand-in spider process for the worker and service tests (no tests in this module).

It honours the worker's spider contract (read ``--urls-file``, write JSON lines items to
``--output``) without the network, and can be told to be slow or to fail, so the tests can kill
a worker in the middle of a batch or watch a batch fail.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

STUB = Path(__file__).resolve()


def command(sleep_s: float = 0.0, fail_marker: str = "", exit_code: int = 0) -> str:
    """A ``SinkSettings.spider_command`` template that runs this stub."""
    return (
        f"{{python}} {STUB} --kind {{kind}} --urls-file {{urls_file}} --output {{output}} "
        f"--sleep {sleep_s} --fail-marker '{fail_marker}' --exit-code {exit_code} {{settings}}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", required=True)
    parser.add_argument("--urls-file", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--fail-marker", default="")
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("-s", action="append", default=[])
    args = parser.parse_args(argv)
    urls = [u for u in args.urls_file.read_text().splitlines() if u]
    time.sleep(args.sleep)
    if args.exit_code:
        return args.exit_code
    with args.output.open("w") as out:
        for url in urls:
            if args.fail_marker and args.fail_marker in url:
                item = {"item_type": "crawl_error", "url": url, "status_code": 404}
            else:
                item = {"item_type": args.kind if args.kind == "anime" else "user", "url": url}
            out.write(json.dumps({**item, "source": "mal", "settings": args.s}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
