"""Write infra/lxc/schema/{template,bucket}.schema.json from the pydantic models; ``--check`` fails when stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxc_manager.templates.schema_export import render_all, stale_files

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "infra" / "lxc" / "schema"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path, nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        stale = stale_files(args.directory)
        for path in stale:
            sys.stderr.write(f"{path} is stale: run `make template-schema` and commit it\n")
        return 1 if stale else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (args.directory / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
