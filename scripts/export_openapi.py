"""Write the app's OpenAPI document (no server needed); ``--check`` fails when the file is stale."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lxc_manager.core.config import Environment, Settings
from lxc_manager.main import create_app


def render() -> str:
    app = create_app(Settings(environment=Environment.development, log_json=True))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    document = render()
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != document:
            sys.stderr.write(f"{args.path} is stale: run `make openapi` and commit it\n")
            return 1
        return 0
    args.path.write_text(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
