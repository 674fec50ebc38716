"""Row builders shared by the deployments API tests (a uniquely named module; ``conftest`` is ambiguous)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from lxc_manager.core.crypto import load_keyring
from lxc_manager.core.db import unit_of_work
from lxc_manager.models import Deployment, Node, NodeAccess, Template, TemplateRevision
from lxc_manager.nodes.connection import node_secret_context


async def insert_node(app: FastAPI, name: str, *, granted_to: tuple[str, ...] = ()) -> str:
    """A node row straight in the database (no PVE behind it), optionally granted to users."""
    state = app.state.lxcm
    async with unit_of_work(state.sessionmaker) as db:
        node = Node(name=name, api_url=f"https://{name}.invalid:8006", token_id="root@pam!t", token_secret_enc=b"")
        node.id = f"node-{name}"
        node.token_secret_enc = load_keyring(state.settings).encrypt("x", node_secret_context(node.id, "token_secret"))
        db.add(node)
        await db.flush()
        for user_id in granted_to:
            db.add(NodeAccess(node_id=node.id, user_id=user_id))
        return node.id


async def insert_deployment(app: FastAPI, node_id: str | None, *, status: str = "pending", **extra: object) -> str:
    """A deployment row of the synced ``minimal`` template on ``node_id``."""
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        template = (await db.scalars(select(Template).where(Template.name == "minimal"))).one()
        revision = (
            await db.scalars(select(TemplateRevision).where(TemplateRevision.template_id == template.id))
        ).first()
        assert revision is not None
        deployment = Deployment(
            node_id=node_id,
            node_name=node_id or "gone",
            template_id=template.id,
            template_revision_id=revision.id,
            template_name=template.name,
            template_revision=revision.number,
            template_hash=revision.content_hash,
            status=status,
            **extra,
        )
        db.add(deployment)
        await db.flush()
        return deployment.id
