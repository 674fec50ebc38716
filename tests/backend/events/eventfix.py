"""Row builders for the events tests (a uniquely named module; ``conftest`` is ambiguous across folders)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import new_id, utcnow
from lxc_manager.models import Deployment, Node, NodeAccess, Template, TemplateRevision


async def insert_node(sessionmaker: async_sessionmaker[AsyncSession], *, granted_to: tuple[str, ...] = ()) -> str:
    """A node row (no PVE behind it; its token secret is never read here), optionally granted to users."""
    async with unit_of_work(sessionmaker) as db:
        name = f"n-{new_id()[:8]}"
        node = Node(name=name, api_url=f"https://{name}.invalid:8006", token_id="root@pam!t", token_secret_enc=b"x")
        db.add(node)
        await db.flush()
        for user_id in granted_to:
            db.add(NodeAccess(node_id=node.id, user_id=user_id))
        return node.id


async def insert_deployment(
    sessionmaker: async_sessionmaker[AsyncSession], node_id: str | None, *, status: str = "running"
) -> str:
    """A deployment row (with its own template and revision rows) on ``node_id``, leased to the test (which
    plays the pipeline's lease holder), so the app's reconciler leaves it alone."""
    async with unit_of_work(sessionmaker) as db:
        template = Template(name=f"t-{new_id()[:8]}")
        db.add(template)
        await db.flush()
        revision = TemplateRevision(template_id=template.id, number=1, content_hash="0" * 64, manifest={}, files={})
        db.add(revision)
        await db.flush()
        deployment = Deployment(
            node_id=node_id,
            node_name="node",
            template_id=template.id,
            template_revision_id=revision.id,
            template_name=template.name,
            template_revision=1,
            template_hash="0" * 64,
            status=status,
            lease_owner="events-test",
            lease_expires_at=utcnow() + timedelta(hours=1),
            heartbeat_at=utcnow(),
        )
        db.add(deployment)
        await db.flush()
        return deployment.id


async def insert_user(
    sessionmaker: async_sessionmaker[AsyncSession], role: str = "viewer", *, password: str | None = None
) -> str:
    from lxc_manager.auth.passwords import hash_password
    from lxc_manager.models import User

    async with unit_of_work(sessionmaker) as db:
        user = User(
            username=f"u-{new_id()[:8]}",
            role=role,
            is_active=True,
            password_hash=hash_password(password) if password else None,
        )
        db.add(user)
        await db.flush()
        return user.id


async def insert_token(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: str, scopes: str = "read write admin"
) -> str:
    """An API token straight in the database; returns the plaintext."""
    from lxc_manager.models import APIToken
    from lxc_manager.tokens import format as token_format

    plaintext, parts = token_format.generate()
    async with unit_of_work(sessionmaker) as db:
        db.add(
            APIToken(
                user_id=user_id,
                name="events test",
                lookup=parts.lookup,
                secret_hash=token_format.hash_secret(parts.secret),
                scopes=scopes,
            )
        )
    return plaintext
