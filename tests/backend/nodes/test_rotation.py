"""``lxc-manager rotate-keys``: key file and environment-key rotation, interrupted runs, undecryptable rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from fastapi import FastAPI
from node_fakes import CANARY_TOKEN_SECRET, FakePVE, node_payload
from sqlalchemy import select

from helpers import login_as, new_client
from lxc_manager import cli
from lxc_manager.core.config import Settings
from lxc_manager.core.crypto import (
    Keyring,
    SecretDecryptionError,
    ciphertext_key_id,
    encode_key,
    generate_key,
    key_id,
    read_key_file,
    write_key_file,
)
from lxc_manager.core.db import unit_of_work
from lxc_manager.main import create_app
from lxc_manager.models import AuditEvent, Node
from lxc_manager.nodes.service import node_connection, node_secret_context


@pytest.fixture
def file_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings, but with the key in a key file (created on first use)."""
    return settings.model_copy(update={"secret_key": None, "secret_key_file": tmp_path / "keys" / "secret.key"})


@pytest.fixture
async def file_app(file_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(file_settings)
    async with application.router.lifespan_context(application):
        yield application


async def register(app: FastAPI, pve: FakePVE, name: str, with_ssh_key: bool = True) -> str:
    async with new_client(app) as http:
        await login_as(app, http, f"admin-{name}", role="admin")
        extra = {}
        if with_ssh_key:
            extra["ssh_private_key"] = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        response = await http.post("/api/v1/nodes", json=node_payload(pve, name=name, **extra))
        assert response.status_code == 201, response.text
        node_id: str = response.json()["id"]
        return node_id


async def stored_key_ids(app: FastAPI) -> set[bytes]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        nodes = (await db.scalars(select(Node))).all()
        return {ciphertext_key_id(blob) for n in nodes for blob in (n.token_secret_enc, n.ssh_private_key_enc) if blob}


async def token_secrets(app: FastAPI, settings: Settings) -> dict[str, str]:
    async with unit_of_work(app.state.lxcm.sessionmaker) as db:
        nodes = (await db.scalars(select(Node))).all()
        return {n.name: (await node_connection(db, n, settings)).token_secret for n in nodes}


def rotate(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> int:
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return cli.main(["rotate-keys"])


async def asyncio_rotate(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> int:
    """cli.main runs asyncio.run(), which needs a thread without a running loop."""
    return await asyncio.to_thread(rotate, monkeypatch, settings)


async def test_rotation_round_trip_with_the_key_file(
    file_app: FastAPI, file_settings: Settings, fake_pve: FakePVE, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = file_settings.effective_secret_key_file
    first = await register(file_app, fake_pve, "pve-a")
    await register(file_app, fake_pve, "pve-b", with_ssh_key=False)
    (old_key,) = read_key_file(path)
    assert await stored_key_ids(file_app) == {key_id(old_key)}

    assert await asyncio_rotate(monkeypatch, file_settings) == 0

    (new_key,) = read_key_file(path)  # exactly one key left: the old one is retired
    assert new_key != old_key and (path.stat().st_mode & 0o777) == 0o600
    assert await stored_key_ids(file_app) == {key_id(new_key)}
    assert await token_secrets(file_app, file_settings) == {"pve-a": CANARY_TOKEN_SECRET, "pve-b": CANARY_TOKEN_SECRET}
    async with unit_of_work(file_app.state.lxcm.sessionmaker) as db:
        node = await db.get(Node, first)
        assert node is not None
        with pytest.raises(SecretDecryptionError):  # the old key alone no longer opens anything
            Keyring((old_key,)).decrypt(node.token_secret_enc, node_secret_context(node.id, "token_secret"))
        event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "secrets.rotate"))).first()
        assert event is not None and event.details["reencrypted"] == 3
    # The running app picks up the rotated key file and still reaches the node.
    async with new_client(file_app) as http:
        await login_as(file_app, http, "after", role="admin")
        tested = await http.post(f"/api/v1/nodes/{first}/test")  # decrypts both secrets (503 if it could not)
        assert tested.status_code == 200
        assert {c["name"]: c["ok"] for c in tested.json()["checks"]}["authentication"] is True


async def test_interrupted_rotation_is_completed_by_running_again(
    file_app: FastAPI, file_settings: Settings, fake_pve: FakePVE, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = file_settings.effective_secret_key_file
    await register(file_app, fake_pve, "pve-a")
    (old_key,) = read_key_file(path)
    half_done = generate_key()
    write_key_file(path, [half_done, old_key])  # as if step 1 ran and the process died before re-encrypting
    assert await stored_key_ids(file_app) == {key_id(old_key)}

    assert await asyncio_rotate(monkeypatch, file_settings) == 0
    (final,) = read_key_file(path)
    assert final not in (old_key, half_done)
    assert await stored_key_ids(file_app) == {key_id(final)}
    assert await token_secrets(file_app, file_settings) == {"pve-a": CANARY_TOKEN_SECRET}


async def test_an_undecryptable_row_aborts_without_retiring_anything(
    file_app: FastAPI,
    file_settings: Settings,
    fake_pve: FakePVE,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = file_settings.effective_secret_key_file
    good = await register(file_app, fake_pve, "pve-good")
    bad = await register(file_app, fake_pve, "pve-bad", with_ssh_key=False)
    (old_key,) = read_key_file(path)
    async with unit_of_work(file_app.state.lxcm.sessionmaker) as db:
        good_node, bad_node = await db.get(Node, good), await db.get(Node, bad)
        assert good_node is not None and bad_node is not None
        bad_node.token_secret_enc = good_node.token_secret_enc  # a row swap: bound to the other row

    assert await asyncio_rotate(monkeypatch, file_settings) == 1
    assert "pve-bad" in capsys.readouterr().err
    keys = read_key_file(path)
    assert old_key in keys  # still there: the good rows keep decrypting
    assert await stored_key_ids(file_app) == {key_id(old_key)}  # the transaction rolled back


async def test_environment_key_rotation(
    settings: Settings, fake_pve: FakePVE, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old_key, new_key = generate_key(), generate_key()
    old_settings = settings.model_copy(update={"secret_key": _secret(old_key)})
    app = create_app(old_settings)
    async with app.router.lifespan_context(app):
        await register(app, fake_pve, "pve-env")
        # Only one env key: nothing to rotate to, the command explains the procedure.
        assert await asyncio_rotate(monkeypatch, old_settings) == 2
        assert "LXCM_SECRET_KEY_OLD" in capsys.readouterr().err

        swapped = settings.model_copy(update={"secret_key": _secret(new_key), "secret_key_old": _secret(old_key)})
        assert await asyncio_rotate(monkeypatch, swapped) == 0
        assert "remove it" in capsys.readouterr().err
        assert await stored_key_ids(app) == {key_id(new_key)}
        only_new = settings.model_copy(update={"secret_key": _secret(new_key)})
        assert await token_secrets(app, only_new) == {"pve-env": CANARY_TOKEN_SECRET}


def _secret(key: bytes) -> object:
    from pydantic import SecretStr

    return SecretStr(encode_key(key))
