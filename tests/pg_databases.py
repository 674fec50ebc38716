"""Create and drop throwaway PostgreSQL databases for tests."""

from __future__ import annotations

import asyncio


def _pg_admin(server_url: str, *statements: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def make_pg_database(server_url: str, name: str) -> str:
    """Create (or recreate) an empty database and return its SQLAlchemy URL."""
    _pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(server_url: str, name: str) -> None:
    _pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
