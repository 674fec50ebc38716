"""``lxc-manager`` console command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from lxc_manager.core.config import get_settings
from lxc_manager.core.logging import configure_logging, get_logger

log = get_logger("lxc_manager.cli")

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from lxc_manager.core.runtime import tune_gc_for_server

    tune_gc_for_server()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        "lxc_manager.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_config=None,
        timeout_keep_alive=5,
    )
    return 0


def _worker(_: argparse.Namespace) -> int:
    from arq.worker import run_worker

    from lxc_manager.core.runtime import tune_gc_for_server
    from lxc_manager.worker import worker_settings

    tune_gc_for_server()
    run_worker(worker_settings())
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from lxc_manager.core.migrate import upgrade_to_head

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.effective_database_url)
    sys.stderr.write("database migrated to head\n")
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    from lxc_manager.users.commands import create_admin

    if not args.password_stdin:
        sys.stderr.write("error: pass --password-stdin and pipe the password on standard input\n")
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    return asyncio.run(create_admin(get_settings(), args.username, password))


def _rotate_keys(_: argparse.Namespace) -> int:
    from lxc_manager.nodes.commands import rotate_keys

    return asyncio.run(rotate_keys(get_settings()))


def _sync_templates(_: argparse.Namespace) -> int:
    from lxc_manager.templates.startup import sync_command

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return asyncio.run(sync_command(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lxc-manager", description="LXC Template Manager for Proxmox VE")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)

    sub.add_parser("worker", help="run an arq worker (needs LXCM_REDIS_URL)").set_defaults(func=_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)

    admin = sub.add_parser("create-admin", help="create (or reset) an admin account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=_create_admin)

    sub.add_parser("rotate-keys", help="re-encrypt every stored secret with a new key").set_defaults(func=_rotate_keys)
    sub.add_parser(
        "sync-templates", help="discover templates and buckets into the database (exit 1 if any is broken)"
    ).set_defaults(func=_sync_templates)

    from lxc_manager.pvesim.cli import register as register_pve_sim

    register_pve_sim(sub)
    from lxc_manager.deployments.commands import register as register_deploy

    register_deploy(sub)
    from lxc_manager.demo.command import register as register_demo

    register_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
