"""Template discovery benchmark: 500 generated templates synced into SQLite, cold and unchanged.

    .venv/bin/python bench/bench_template_sync.py [--templates 500] [--runs 5]

Goal (issue 4): cold < 3 s, unchanged re-sync < 0.3 s. Prints a table of median/min/max wall times.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lxc_manager.core.config import Environment, Settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.core.logging import configure_logging
from lxc_manager.core.migrate import upgrade_to_head
from lxc_manager.templates.service import run_sync

REPO = Path(__file__).resolve().parents[1]
MINIMAL = REPO / "infra" / "lxc" / "templates" / "minimal"
BUCKETS = REPO / "infra" / "lxc" / "buckets"


def generate(root: Path, count: int) -> None:
    """``count`` templates shaped like `minimal` (manifest, script, hook, two files), each with its own content."""
    (root / "buckets").mkdir(parents=True)
    shutil.copy2(BUCKETS / "base.yaml", root / "buckets" / "base.yaml")
    for index in range(count):
        name = f"gen-{index:04d}"
        target = root / "templates" / name
        shutil.copytree(MINIMAL, target)
        manifest = target / "template.yaml"
        text = manifest.read_text().replace("name: minimal", f"name: {name}")
        manifest.write_text(text.replace("tags: [debian, demo, web]", f"tags: [debian, bench, group-{index % 10}]"))
        script = target / "scripts" / "10-web.sh"
        script.write_text(script.read_text() + f"\n# generated template {index}\n")


async def timed_sync(settings: Settings) -> tuple[float, int, int]:
    engine = create_engine(settings.effective_database_url)
    try:
        start = time.perf_counter()
        async with unit_of_work(create_sessionmaker(engine)) as session:
            report = await run_sync(session, settings, None)
        elapsed = time.perf_counter() - start
    finally:
        await engine.dispose()
    if report.errors:
        raise SystemExit(f"unexpected errors: {report.errors[:3]}")
    return elapsed, len(report.added), len(report.unchanged)


def row(label: str, samples: list[float], goal: float) -> str:
    median = statistics.median(samples)
    verdict = "ok" if median < goal else "SLOW"
    return (
        f"| {label:<22} | {median * 1000:9.1f} | {min(samples) * 1000:9.1f} | {max(samples) * 1000:9.1f} "
        f"| {goal * 1000:7.0f} | {verdict:<4} |"
    )


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--templates", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    configure_logging("WARNING", json=True)
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="lxcm-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.templates)
        migrated = root / "migrated.db"
        await asyncio.to_thread(upgrade_to_head, f"sqlite+aiosqlite:///{migrated}")  # alembic runs its own loop
        cold: list[float] = []
        unchanged: list[float] = []
        for run in range(args.runs):
            database = root / f"run-{run}.db"
            shutil.copyfile(migrated, database)
            settings = Settings(
                environment=Environment.test,
                data_dir=root,
                database_url=f"sqlite+aiosqlite:///{database}",
                templates_dir=root / "templates",
                log_json=True,
            )
            elapsed, added, _ = await timed_sync(settings)
            assert added == args.templates, added
            cold.append(elapsed)
            elapsed, _, same = await timed_sync(settings)
            assert same == args.templates, same
            unchanged.append(elapsed)
    sys.stdout.write(f"\nTemplate sync, {args.templates} templates, SQLite, {args.runs} runs (ms)\n\n")
    sys.stdout.write("| case                   |    median |       min |       max |    goal | ok?  |\n")
    sys.stdout.write("|------------------------|-----------|-----------|-----------|---------|------|\n")
    sys.stdout.write(row("cold (empty DB)", cold, 3.0) + "\n")
    sys.stdout.write(row("unchanged re-sync", unchanged, 0.3) + "\n")
    return 0 if statistics.median(cold) < 3.0 and statistics.median(unchanged) < 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
