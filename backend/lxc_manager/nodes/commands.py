"""``lxc-manager rotate-keys``: re-encrypt every stored node secret with a new key.

Key file (the default): 1) a new key is written in front of the old ones (atomic replace, mode 0600), so
every process can still decrypt old rows and new writes use the new key; 2) every encrypted column of every
node is re-encrypted in one transaction; 3) only after that commit are the old keys removed from the file,
followed by a last sweep for rows a concurrent writer stored with an old key meanwhile. Interrupted at any
step, running the command again completes the rotation (it adds yet another key and re-encrypts everything).

Environment keys (``LXCM_SECRET_KEY``): the command cannot change the environment, so the operator swaps the
keys (new key in ``LXCM_SECRET_KEY``, old one in ``LXCM_SECRET_KEY_OLD``) and the command re-encrypts every
row with the new key, then says that ``LXCM_SECRET_KEY_OLD`` can be removed. See docs/security.md.
"""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.audit import service as audit
from lxc_manager.core.config import Settings
from lxc_manager.core.crypto import (
    CryptoError,
    Keyring,
    SecretDecryptionError,
    generate_key,
    key_id,
    keys_from_env,
    load_keyring,
    read_key_file,
    write_key_file,
)
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.core.logging import get_logger
from lxc_manager.nodes.connection import ENCRYPTED_COLUMNS, node_secret_context
from lxc_manager.nodes.repository import NodeRepository

log = get_logger(__name__)

ENV_ROTATION_HELP = """\
The secret key comes from LXCM_SECRET_KEY, which this command cannot change. To rotate it:
  1. generate a key:  python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'
  2. set LXCM_SECRET_KEY=<new key> and LXCM_SECRET_KEY_OLD=<previous key> for every process, restart them
  3. run `lxc-manager rotate-keys` again: it re-encrypts every stored secret with the new key
  4. remove LXCM_SECRET_KEY_OLD and restart
"""


def _say(message: str) -> None:
    sys.stderr.write(message if message.endswith("\n") else message + "\n")


async def reencrypt_all(sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring, *, reason: str) -> int:
    """Re-encrypt every secret not under the current key, in one transaction. Returns how many changed."""
    changed = 0
    async with unit_of_work(sessionmaker) as db:
        for node in await NodeRepository(db).list_for_update():
            for attribute, column in ENCRYPTED_COLUMNS:
                blob: bytes | None = getattr(node, attribute)
                if blob is None or keyring.is_current(blob):
                    continue
                try:
                    setattr(node, attribute, keyring.reencrypt(blob, node_secret_context(node.id, column)))
                except SecretDecryptionError as exc:
                    raise SecretDecryptionError(f"node {node.name!r} ({node.id}) {column}: {exc}") from None
                changed += 1
        if changed:
            await db.flush()
            audit.record(
                db,
                "secrets.rotate",
                actor_name="lxc-manager rotate-keys",
                target_type="keyring",
                target_id=keyring.current_key_id.hex(),
                details={"reencrypted": changed, "step": reason},
            )
    return changed


async def _rotate_env(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    keyring = load_keyring(settings)
    changed = await reencrypt_all(sessionmaker, keyring, reason="environment keys")
    if len(keyring.keys) == 1:
        _say(f"{changed} secret(s) re-encrypted. Nothing else to do with a single key.")
        _say(ENV_ROTATION_HELP)
        return 2 if changed == 0 else 0
    _say(
        f"{changed} secret(s) re-encrypted with the key in LXCM_SECRET_KEY (id {keyring.current_key_id.hex()}); "
        "no stored secret uses LXCM_SECRET_KEY_OLD any more: remove it and restart."
    )
    return 0


async def _rotate_file(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    path = settings.effective_secret_key_file
    load_keyring(settings)  # creates the file on first use and checks its permissions
    strict = settings.environment == "production"
    old_keys = read_key_file(path, strict=strict)
    new_key = generate_key()
    keyring = Keyring((new_key, *old_keys), source="rotation")
    write_key_file(path, keyring.keys)  # step 1: new current key; old keys still decrypt
    changed = await reencrypt_all(sessionmaker, keyring, reason="re-encrypt")  # step 2
    write_key_file(path, [new_key])  # step 3: retire the old keys, only after the commit
    stragglers = await reencrypt_all(sessionmaker, keyring, reason="final sweep")
    retired = ", ".join(key_id(k).hex() for k in old_keys)
    _say(
        f"{changed + stragglers} secret(s) re-encrypted with the new key {key_id(new_key).hex()}; "
        f"retired key(s): {retired}. Key file: {path}"
    )
    log.info("keys_rotated", reencrypted=changed + stragglers, new_key_id=key_id(new_key).hex(), retired=retired)
    return 0


async def rotate_keys(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        if keys_from_env(settings) is not None:
            return await _rotate_env(sessionmaker, settings)
        return await _rotate_file(sessionmaker, settings)
    except CryptoError as exc:
        _say(f"error: {exc}")
        _say("Nothing was retired: every key needed to read the stored secrets is still in place.")
        return 1
    finally:
        await engine.dispose()
