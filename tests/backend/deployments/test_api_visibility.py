"""Deployment visibility follows node visibility: admins see all, others only deployments on granted nodes."""

from __future__ import annotations

import pytest
from deployfix import insert_deployment, insert_node
from fastapi import FastAPI

from helpers import create_user
from lxc_manager.auth.principal import ROLE_SCOPES, Principal
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import NotFound
from lxc_manager.deployments.service import get_visible_deployment
from lxc_manager.models import Role, User


async def _principal(app: FastAPI, user_id: str) -> Principal:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        user = await db.get(User, user_id)
        assert user is not None
        return Principal(user=user, via="token", scopes=ROLE_SCOPES[Role(user.role)])


async def test_get_visible_deployment_follows_node_grants(app: FastAPI) -> None:
    admin_id = await create_user(app, "root", role="admin")
    alice_id = await create_user(app, "alice", role="operator")
    bob_id = await create_user(app, "bob", role="operator")
    granted = await insert_node(app, "pve-a", granted_to=(alice_id,))
    other = await insert_node(app, "pve-b")
    on_granted = await insert_deployment(app, granted)
    on_other = await insert_deployment(app, other)
    orphan = await insert_deployment(app, None)  # its node was deleted

    admin, alice, bob = [await _principal(app, uid) for uid in (admin_id, alice_id, bob_id)]
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        for deployment_id in (on_granted, on_other, orphan):
            assert (await get_visible_deployment(db, admin, deployment_id)).id == deployment_id
        assert (await get_visible_deployment(db, alice, on_granted)).id == on_granted
        for principal, deployment_id in ((alice, on_other), (alice, orphan), (bob, on_granted), (alice, "nope")):
            with pytest.raises(NotFound) as raised:
                await get_visible_deployment(db, principal, deployment_id)
            assert raised.value.detail == "Deployment not found"
