"""Secrets at rest: AES-256-GCM round trip, binding to row and column, tamper detection, keyring, key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from lxc_manager.core.config import Environment, Settings
from lxc_manager.core.crypto import (
    HEADER_BYTES,
    KeyConfigurationError,
    Keyring,
    SecretDecryptionError,
    create_key_file,
    encode_key,
    generate_key,
    key_id,
    load_keyring,
    read_key_file,
    secret_context,
    write_key_file,
)

ROW_A = secret_context("nodes", "node-a", "token_secret")
ROW_B = secret_context("nodes", "node-b", "token_secret")


def test_round_trip_and_random_nonce() -> None:
    keyring = Keyring((generate_key(),))
    first = keyring.encrypt("s3cret-value", ROW_A)
    second = keyring.encrypt("s3cret-value", ROW_A)
    assert first != second  # fresh nonce each time
    assert b"s3cret-value" not in first
    assert keyring.decrypt_text(first, ROW_A) == "s3cret-value"
    assert first[0] == 1 and first[1:9] == keyring.current_key_id


def test_ciphertext_swapped_between_rows_or_columns_fails() -> None:
    keyring = Keyring((generate_key(),))
    blob = keyring.encrypt("secret of row A", ROW_A)
    with pytest.raises(SecretDecryptionError, match="another row"):
        keyring.decrypt(blob, ROW_B)
    with pytest.raises(SecretDecryptionError):
        keyring.decrypt(blob, secret_context("nodes", "node-a", "ssh_private_key"))


@pytest.mark.parametrize("position", [0, 5, HEADER_BYTES - 1, HEADER_BYTES, -1])
def test_tampering_anywhere_fails(position: int) -> None:
    keyring = Keyring((generate_key(),))
    blob = bytearray(keyring.encrypt("tamper me", ROW_A))
    blob[position] ^= 0x01
    with pytest.raises(SecretDecryptionError):
        keyring.decrypt(bytes(blob), ROW_A)


def test_truncated_or_foreign_data_fails_clearly() -> None:
    keyring = Keyring((generate_key(),))
    with pytest.raises(SecretDecryptionError, match="unknown format"):
        keyring.decrypt(b"plaintext-not-a-ciphertext", ROW_A)


def test_old_keys_decrypt_and_unknown_key_is_named() -> None:
    old, new = generate_key(), generate_key()
    blob = Keyring((old,)).encrypt("x", ROW_A)
    rotated = Keyring((new, old))
    assert not rotated.is_current(blob)
    assert rotated.decrypt_text(blob, ROW_A) == "x"
    again = rotated.reencrypt(blob, ROW_A)
    assert rotated.is_current(again)
    with pytest.raises(SecretDecryptionError, match=key_id(old).hex()):
        Keyring((new,)).decrypt(blob, ROW_A)


def test_repr_shows_key_ids_not_keys() -> None:
    key = generate_key()
    text = repr(Keyring((key,)))
    assert key_id(key).hex() in text
    assert encode_key(key) not in text and repr(key) not in text


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    settings = Settings(environment=Environment.test, data_dir=tmp_path / "data")
    assert settings.effective_secret_key_file == path
    keyring = load_keyring(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring.source == "key_file"
    assert load_keyring(settings).current == keyring.current  # the same key next time
    create_key_file(path)  # a second starter does not overwrite it
    assert read_key_file(path) == keyring.keys


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    write_key_file(path, [generate_key()])
    os.chmod(path, 0o644)
    settings = Settings(environment=Environment.test, data_dir=tmp_path, secret_key_file=path)
    with pytest.raises(KeyConfigurationError, match="group/others"):
        load_keyring(settings)


def test_key_file_with_several_keys_and_change_detection(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    old, new = generate_key(), generate_key()
    write_key_file(path, [old])
    settings = Settings(environment=Environment.test, data_dir=tmp_path, secret_key_file=path)
    blob = load_keyring(settings).encrypt("v", ROW_A)
    write_key_file(path, [new, old])
    keyring = load_keyring(settings)  # re-read because the file changed
    assert keyring.current == new and keyring.decrypt_text(blob, ROW_A) == "v"
    path.write_text("not base64!\n")
    os.chmod(path, 0o600)
    with pytest.raises(KeyConfigurationError, match="line 1"):
        load_keyring(settings)


def test_env_key_and_old_env_keys(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    blob = Keyring((old,)).encrypt("v", ROW_A)
    settings = Settings(
        environment=Environment.test,
        data_dir=tmp_path,
        secret_key=encode_key(new),
        secret_key_old=encode_key(old),
    )
    keyring = load_keyring(settings)
    assert keyring.source == "environment" and keyring.current == new
    assert keyring.decrypt_text(blob, ROW_A) == "v"
    assert not (tmp_path / "secret.key").exists()  # no key file when the key comes from the environment


@pytest.mark.parametrize(
    ("environment", "value", "message"),
    [
        (Environment.test, "not-base64!", "not valid base64"),
        (Environment.test, base64.b64encode(b"short").decode(), "32 bytes"),
        (Environment.production, "changeme", "placeholder"),
        (Environment.production, base64.b64encode(b"a" * 32).decode(), "does not look random"),
    ],
)
def test_bad_keys_are_refused_without_echoing_them(environment: Environment, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(environment=environment, secret_key=value)
    assert message in str(info.value)
    assert value not in str(info.value)


def test_random_key_is_accepted_in_production() -> None:
    key = encode_key(generate_key())
    settings = Settings(environment=Environment.production, secret_key=key)
    assert load_keyring(settings).current == base64.b64decode(key)


def test_development_placeholder_key_falls_back_to_the_key_file(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.development, data_dir=tmp_path, secret_key="changeme")
    keyring = load_keyring(settings)
    assert keyring.source == "key_file" and (tmp_path / "secret.key").exists()
